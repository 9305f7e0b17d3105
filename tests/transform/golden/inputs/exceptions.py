import sys

from corofy import coroutine, wait


@coroutine
def guarded(lock, job):
    with lock as held:
        try:
            result = wait(job)
        except ValueError as error:
            wait(job)
            print(sys.exc_info()[1] is error)
            raise
        finally:
            wait(held.release())
    return result
