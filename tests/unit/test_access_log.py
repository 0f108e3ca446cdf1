"""serving.AccessLog: the JSON line of every request, and answers of known length handed over whole."""
import json
import multiprocessing
import os
import select

from mock_aspsp.tools.serving import AccessLog


class Body:
    """A WSGI body that says whether the server closed it."""

    def __init__(self, chunks):
        self.chunks, self.closed = chunks, 0

    def __iter__(self):
        return iter(self.chunks)

    def close(self):
        self.closed += 1


def wsgi_app(body, headers):
    def app(environ, start_response):
        start_response("201 Created", headers)
        return body
    return app


REQUEST = {"REQUEST_METHOD": "POST", "PATH_INFO": "/x", "HTTP_X_REQUEST_ID": "r-1"}


def call(app):
    read, write = os.pipe()
    try:
        seen = []
        log = AccessLog(app, write)
        result = log(REQUEST, lambda status, headers, exc_info=None: seen.append(status))
        log.flush()
        os.close(write)
        with os.fdopen(read, "rb") as lines:
            return result, seen, lines.read()
    except BaseException:
        os.close(read)
        raise


def test_a_body_of_known_length_is_handed_over_whole_and_closed():
    body = Body([b"ab", b"", b"cd"])
    result, seen, log = call(wsgi_app(body, [("Content-Type", "text/plain"), ("Content-Length", "4")]))
    assert result == [b"abcd"] and body.closed == 1 and seen == ["201 Created"]
    line = json.loads(log)
    assert (line["status"], line["x_request_id"], line["pid"], line["path"]) == (201, "r-1", os.getpid(), "/x")


def test_a_streamed_body_is_left_to_the_server():
    body = Body([b"ab", b"cd"])
    result, _, log = call(wsgi_app(body, [("Content-Type", "text/plain")]))
    assert result is body and body.closed == 0
    assert log.count(b"\n") == 1 and json.loads(log)["status"] == 201


def read_lines(fd: int, count: int, limit_s: float = 5) -> list[dict]:
    """The first ``count`` lines written to the pipe ``fd``, waiting for them at most ``limit_s``."""
    data = b""
    while data.count(b"\n") < count:
        ready, _, _ = select.select([fd], [], [], limit_s)
        assert ready, f"only {data!r} within {limit_s} s"
        data += os.read(fd, 65536)
    return [json.loads(line) for line in data.splitlines()]


def test_the_writer_thread_writes_queued_lines_by_itself_in_whole_lines_of_at_most_pipe_buf():
    read, write = os.pipe()
    try:
        log = AccessLog(wsgi_app([b"x"], [("Content-Length", "1")]), write)
        for n in range(200):  # ~200 bytes a line: several writes, none cutting a line
            log({**REQUEST, "HTTP_X_REQUEST_ID": f"r-{n}"}, lambda *args: None)
        assert [line["x_request_id"] for line in read_lines(read, 200)] == [f"r-{n}" for n in range(200)]
    finally:
        os.close(read)
        os.close(write)


def answer_once(log: AccessLog) -> None:
    log({**REQUEST, "HTTP_X_REQUEST_ID": "in-the-worker"}, lambda *args: None)


def test_a_worker_that_ends_writes_what_it_had_queued():
    """A forked worker's queue and writer are its own, and its last lines are written as it exits (granian's
    workers end through multiprocessing, which waits for the writer thread)."""
    read, write = os.pipe()
    try:
        log = AccessLog(wsgi_app([b"x"], [("Content-Length", "1")]), write)
        worker = multiprocessing.get_context("fork").Process(target=answer_once, args=(log,))
        worker.start()
        worker.join(10)
        assert worker.exitcode == 0
        [line] = read_lines(read, 1)
        assert (line["x_request_id"], line["pid"]) == ("in-the-worker", worker.pid)
    finally:
        os.close(read)
        os.close(write)
