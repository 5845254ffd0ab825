"""A Flask application for gunicorn with greenpatch's worker: slow routes do not hold up others.

    gunicorn -k hub.gunicorn.Worker -w 2 --chdir samples flask_app:app

(needs `pip install greenpatch[gunicorn] flask`). Routes: ``/`` says hello, ``/slow?s=0.5``
waits that long (cooperatively: the worker serves other requests meanwhile), ``/pid`` tells
which worker process answered.
"""

import os
import time

from flask import Flask, request

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello, World!"


@app.route("/slow")
def slow():
    seconds = float(request.args.get("s", "0.5"))
    time.sleep(seconds)  # cooperative: the worker patched time.sleep before loading the app
    return f"slept {seconds}"


@app.route("/pid")
def pid():
    return str(os.getpid())
