"""The benchmark's baseline: bare Flask under gunicorn answering a fixed JSON body."""
from flask import Flask, jsonify

app = Flask(__name__)
ANSWER = {"request": {"paymentCoverageRequestId": "bench-1"}, "result": True,
          "_links": {"self": {"href": "stet/psd2/v1.4.2/funds-confirmations"}}}


@app.post("/stet/psd2/v1.4.2/funds-confirmations")
def funds_confirmations():
    return jsonify(ANSWER)
