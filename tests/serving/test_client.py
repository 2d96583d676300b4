"""yolo3.serving.client against a loopback endpoint that misbehaves on purpose: secrets
stay out of messages and off other sites, the deadline covers the whole answer, and only
well-formed detections come back."""

from __future__ import annotations

import base64
import time

import pytest
from hostile_endpoint import GOOD, HostileEndpoint

from yolo3.errors import YoloError
from yolo3.serving.client import MAX_CLASS_ID, Endpoint, detections_from, post

KEY = "k3y-0123456789-abcdef"


@pytest.fixture
def server():
    with HostileEndpoint() as endpoint:
        yield endpoint


def test_good_answer_with_key_and_settings(server):
    answer = post(Endpoint(server.url(), KEY), b"image", 10, {"score": 0.5})
    assert detections_from(answer, "x") == GOOD["detections"]
    path, headers = server.seen[-1]
    assert path == "/score?score=0.5" and headers["Authorization"] == f"Bearer {KEY}"


def test_credentials_in_the_address_become_basic_auth_and_are_never_shown(server):
    port = server.server.server_address[1]
    endpoint = Endpoint(f"http://alice:pa%24%24word@127.0.0.1:{port}/echo-key")
    assert endpoint.shown == f"http://127.0.0.1:{port}/echo-key"
    with pytest.raises(YoloError) as refused:
        post(endpoint, b"image", 10)
    _, headers = server.seen[-1]
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"alice:pa$$word").decode()
    message = str(refused.value)
    assert "answered 401" in message
    assert "pa$$word" not in message and "pa%24%24word" not in message
    assert base64.b64encode(b"alice:pa$$word").decode() not in message


def test_key_echoed_by_the_endpoint_is_redacted(server):
    with pytest.raises(YoloError) as refused:
        post(Endpoint(server.url("echo-key"), KEY), b"image", 10)
    assert KEY not in str(refused.value) and "***" in str(refused.value)


def test_query_string_key_is_sent_but_never_shown(server):
    endpoint = Endpoint(server.url("echo-query") + "?code=functionkey123")
    assert "functionkey123" not in endpoint.shown
    with pytest.raises(YoloError) as refused:
        post(endpoint, b"image", 10, {"score": 0.4})
    assert server.seen[-1][0] == "/echo-query?code=functionkey123&score=0.4"
    assert "functionkey123" not in str(refused.value)


def test_redirect_to_another_origin_is_refused_without_sending_the_key(server):
    with HostileEndpoint() as elsewhere:
        server.redirect_to = elsewhere.url()
        with pytest.raises(YoloError, match="redirected to another site"):
            post(Endpoint(server.url("redirect"), KEY), b"image", 10)
        assert elsewhere.seen == []


def test_redirect_on_the_same_origin_is_followed_with_the_post(server):
    answer = post(Endpoint(server.url("redirect-here"), KEY), b"image", 10)
    assert answer == GOOD
    assert [p for p, _ in server.seen] == ["/redirect-here", "/score"]
    assert server.seen[-1][1]["Authorization"] == f"Bearer {KEY}"


def test_redirect_loop_ends(server):
    with pytest.raises(YoloError, match="redirected more than 5 times"):
        post(Endpoint(server.url("redirect-loop")), b"image", 10)


def test_trickling_answer_ends_at_the_deadline(server):
    start = time.monotonic()
    with pytest.raises(YoloError, match="did not answer in full within 2 s"):
        post(Endpoint(server.url("trickle")), b"image", 2)
    assert time.monotonic() - start < 4


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf")])
def test_timeout_must_be_positive_and_finite(server, timeout):
    with pytest.raises(YoloError, match="positive number of seconds"):
        post(Endpoint(server.url()), b"image", timeout)


@pytest.mark.parametrize("behaviour, phrase", [
    ("html-500", "answered 500: an HTML page: 502 Bad Gateway"),
    ("huge", "more than 16 MB"),
    ("nested", "did not answer with JSON"),
])
def test_answers_that_are_not_scoring_json(server, behaviour, phrase):
    with pytest.raises(YoloError) as refused:
        post(Endpoint(server.url(behaviour)), b"image", 20)
    assert phrase in str(refused.value) and "\n" not in str(refused.value)
    assert "<" not in str(refused.value)


@pytest.mark.parametrize("behaviour, phrase", [
    ("null-detections", "did not answer with detections"),
    ("no-keys", "malformed detection 0: no 'class_id'"),
    ("string-box", "box must be four finite numbers"),
    ("huge-class-id", f"class_id must be a whole number from 0 to {MAX_CLASS_ID}"),
    ("two-names", "class 2 named both 'cat' and 'dog'"),
    ("nan-score", "score must be a finite number"),
])
def test_malformed_detections_are_named(server, behaviour, phrase):
    answer = post(Endpoint(server.url(behaviour)), b"image", 10)
    with pytest.raises(YoloError, match=phrase):
        detections_from(answer, "the endpoint")


@pytest.mark.parametrize("url", ["ftp://example.org/score", "http:///score",
                                 "http://example.org:99999/score", "example.org"])
def test_addresses_that_are_not_http(url):
    with pytest.raises(YoloError):
        Endpoint(url)


def test_ipv6_address_keeps_its_brackets():
    endpoint = Endpoint("http://user:pw@[::1]:5001/score?code=abc")
    assert endpoint.url == "http://[::1]:5001/score?code=abc"
    assert endpoint.shown == "http://[::1]:5001/score?…"


@pytest.mark.parametrize("field, value", [("score", 10**400), ("box", [1, 2, 3, 10**400]),
                                          ("score", True), ("box", [1, 2, 3, 1e12])])
def test_numbers_beyond_any_float_or_any_image(field, value):
    answer = {"detections": [{**GOOD["detections"][0], field: value}]}
    with pytest.raises(YoloError, match=f"{field} must be"):
        detections_from(answer, "the endpoint")
