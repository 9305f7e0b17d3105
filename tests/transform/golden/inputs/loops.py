from corofy import coroutine, wait


@coroutine
def total(futures, limit):
    count = 0
    for future in futures:
        if count >= limit:
            break
        count += wait(future)
    else:
        print("all done")
    while count < limit and wait(futures[0]):
        count += 1
    return count
