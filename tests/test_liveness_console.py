"""The console's Face Liveness page in headless Chromium: Amplify's unchanged
``FaceLivenessDetectorCore`` (bundled by ``rekollect install``) against ``rekollect serve`` over TLS
with credentials, the camera simulated in the page (``liveness_camera.js``) with a real face photo.

A live person passes with high Confidence and the page offers CompareFaces on the reference image; a
replay of an earlier run's lighting, a still photo and a face that never reaches the oval do not pass.
Needs Debian's ``/usr/bin/chromium`` and the installed bundle (skips, or fails with
``REKOLLECT_REQUIRE_BROWSER=1``).
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import numpy as np
import pytest
from botocore.config import Config
from liveness_scenes import sprite
from playwright.sync_api import Browser, Page, sync_playwright
from support import FACES, ServerProcess, make_certificate, missing

from rekollect.config import models_dir
from rekollect.vision.dlib_pack import DlibFaceAnalyzer

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
KEY, SECRET = "AKIDCONSOLE", "console-liveness-secret"
CAMERA = Path(__file__).with_name("liveness_camera.js").read_text()
COMPARE_WITH = "people/Alex_Lacamoire/img1.jpg"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[ServerProcess, Path]]:
    if not CHROMIUM.is_file():
        missing(f"{CHROMIUM} is missing: install Debian's chromium package", "REKOLLECT_REQUIRE_BROWSER")
    if not (models_dir() / "liveness" / "liveness.js").is_file():
        missing("the Face Liveness bundle is missing: run `rekollect install`", "REKOLLECT_REQUIRE_BROWSER")
    root = tmp_path_factory.mktemp("liveness-console")
    cert, key = make_certificate(root)
    credentials = root / "credentials.json"
    credentials.write_text(json.dumps({"credentials": [{"access_key_id": KEY, "secret_access_key": SECRET}]}))
    process = ServerProcess(
        root / "data",
        "--header-timeout",
        "60",  # the suite shares two cores: a starved client may take seconds to send its headers
        "--tls-certificate",
        str(cert),
        "--tls-key",
        str(key),
        "--credentials-file",
        str(credentials),
    ).start()
    yield process, cert
    process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def face() -> dict:
    """The photo the camera shows, and where the component will see its eyes and nose (dlib's 68
    landmarks of it: eyes' centre, nose tip) and its ocular width ((2 × pupil distance + 1.8 × eye-to-mouth) / 2,
    the component's face width)."""
    image = sprite()
    landmarks = DlibFaceAnalyzer(threads=1).detect(np.asarray(image))[0].landmarks
    left, right, nose, mouth = (
        landmarks[36:42].mean(0),
        landmarks[42:48].mean(0),
        landmarks[30],
        landmarks[48:68].mean(0),
    )
    eyes = (left + right) / 2
    ocular = (2 * np.linalg.norm(left - right) + 1.8 * np.linalg.norm(eyes - mouth)) / 2
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=92)
    return {
        "photo": "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode(),
        "eyes": eyes.tolist(),
        "nose": nose.tolist(),
        "ocular": float(ocular),
    }


def rekognition(server: tuple[ServerProcess, Path]):
    process, cert = server
    return boto3.client(
        "rekognition",
        endpoint_url=process.url,
        region_name="us-east-1",
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        verify=str(cert),
        config=Config(retries={"max_attempts": 1}),
    )


def run(browser: Browser, server, face: dict, mode: str, replay: list | None = None) -> tuple[dict, Page, list]:
    """One check on the console page with the camera in ``mode``; the session's results, the page, the lighting."""
    process, _ = server
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1000, "height": 800})
    context.set_default_timeout(90_000)
    keys = json.dumps({"accessKeyId": KEY, "secretAccessKey": SECRET, "region": "us-east-1"})
    context.add_init_script(f"sessionStorage.setItem('rekollect.console.keys', {json.dumps(keys)});")
    context.add_init_script(f"window.__scene = {json.dumps({**face, 'mode': mode, 'replay': replay})};")
    context.add_init_script(CAMERA)
    page = context.new_page()
    page.on("pageerror", lambda error: print("pageerror:", str(error)[:300]))
    page.goto(f"{process.url}/console/#/liveness")
    page.click("#liveness-start")
    page.wait_for_selector("#liveness-result, #liveness-error")
    page.wait_for_selector("#liveness-result")  # the page also shows the results after an error
    if page.locator("#liveness-error").count():
        print(f"{mode}: the page says {page.locator('#liveness-error').text_content()}")
        print("hints (ms, text, sway %, drift px):", page.evaluate("window.__hints"))
    session_id = page.get_attribute("#liveness-detector", "data-session-id")
    lighting = page.evaluate("window.__lighting")
    return rekognition(server).get_face_liveness_session_results(SessionId=session_id), page, lighting


def test_live_person_passes_and_spoofs_fail(browser, server, face) -> None:
    live, page, lighting = run(browser, server, face, "live")
    print(f"browser live: {live['Status']} Confidence {live.get('Confidence')}")
    assert live["Status"] == "SUCCEEDED" and live["Confidence"] >= 90
    assert page.locator("#liveness-reference").is_visible()
    page.locator(".drop input[type=file]").set_input_files(str(FACES / COMPARE_WITH))
    similarity = float(page.locator(".liveness-compare td.number").first.text_content())
    assert similarity > 90  # the reference image is the same person as the photo
    page.context.close()
    assert len(lighting) > 50

    for mode in ("replay", "still", "never"):
        result, page, _ = run(browser, server, face, mode, replay=lighting)
        print(f"browser {mode}: {result['Status']} Confidence {result.get('Confidence')}")
        page.context.close()
        assert result["Status"] == "FAILED" or result["Confidence"] < 50, mode


def test_page_loads_the_bundle_from_this_server_only(browser, server) -> None:
    process, _ = server
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    elsewhere = []
    page.on(
        "request",
        lambda request: (
            elsewhere.append(request.url) if not request.url.startswith((process.url, "data:", "blob:")) else None
        ),
    )
    page.goto(f"{process.url}/console/#/liveness")
    page.wait_for_selector("#liveness-start")
    assert (
        page.request.get(f"{process.url}/console/vendor/liveness/tfjs-backend-wasm-simd.wasm").headers["content-type"]
        == "application/wasm"
    )
    assert elsewhere == []
    context.close()
