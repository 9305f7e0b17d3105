from corofy import coroutine, wait
from runtime.http import Http


@coroutine
def request(i: int) -> str:
    path = f"/{i * 1000}/HelloWorld{i}"
    response = wait(Http.get(path))
    print(response.text)
    return response.text
