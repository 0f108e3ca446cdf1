"""serving.AccessLog: the JSON line of every request, and answers of known length handed over whole."""
import json
import os

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


def call(app):
    read, write = os.pipe()
    try:
        seen = []
        result = AccessLog(app, write)({"REQUEST_METHOD": "POST", "PATH_INFO": "/x", "HTTP_X_REQUEST_ID": "r-1"},
                                      lambda status, headers, exc_info=None: seen.append(status))
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
