"""The WSGI applications of the wsgi benchmark: a hello-world callable and a Flask route."""

BODY = b"Hello, World!"


def hello(environ, start_response):
    """13 bytes, with a Content-Length: the smallest realistic WSGI response."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "13")])
    return [BODY]


def _flask_app():
    from flask import Flask

    app = Flask(__name__)

    @app.route("/")
    def index():
        return "Hello, World!"

    return app


try:
    flask = _flask_app()
except ImportError:  # the hello case does not need Flask
    flask = None
