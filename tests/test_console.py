"""The web console (``/console``) in headless Chromium, driven by Playwright, against real servers.

Debian's ``/usr/bin/chromium`` is used (``playwright install`` is never run). Without it these tests
skip, or fail when ``REKOLLECT_REQUIRE_BROWSER=1`` (CI). With ``REKOLLECT_SCREENSHOTS=<folder>`` they
save the screenshots the README shows (``docs/console/``), reduced to 64 colours.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright
from support import FACES, ServerProcess, image_bytes, manifest, missing

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
GROUP = "groups/t1.jpg"
OBAMA, OBAMA_AGAIN = "people/Barack_Obama/obama.jpg", "people/Barack_Obama/obama2.jpg"
KEY_ID, SECRET = "AKIDCONSOLE", "console-secret-key"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        missing(f"{CHROMIUM} is missing: install Debian's chromium package", "REKOLLECT_REQUIRE_BROWSER")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 720})
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("REKOLLECT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shot = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")
        shot.quantize(colors=64).save(Path(folder) / f"{name}.png", optimize=True)


def drop_photo(page: Page, relative: str, index: int = 0) -> None:
    page.locator(".drop input[type=file]").nth(index).set_input_files(str(FACES / relative))


def test_collections_faces_and_a_match_for_an_indexed_person(server, rekognition, collection, page):
    face = rekognition.index_faces(
        CollectionId=collection, Image={"Bytes": image_bytes(OBAMA)}, ExternalImageId="obama"
    )
    face_id = face["FaceRecords"][0]["Face"]["FaceId"]
    rekognition.create_user(CollectionId=collection, UserId="barack")
    rekognition.associate_faces(CollectionId=collection, UserId="barack", FaceIds=[face_id])
    group = image_bytes(GROUP)
    total = 1 + sum(  # more faces than one page of the console's (10)
        len(
            rekognition.index_faces(CollectionId=collection, Image={"Bytes": group}, ExternalImageId=name)[
                "FaceRecords"
            ]
        )
        for name in ("group-a", "group-b")
    )
    assert total > 10
    page.goto(f"{server.url}/console/")
    row = page.locator("#collections tr", has=page.get_by_role("link", name=collection, exact=True))
    expect(row.locator("td").nth(1)).to_have_text(str(total))  # FaceCount
    expect(row.locator("td").nth(2)).to_have_text("1")  # UserCount
    expect(row.locator("td").nth(3)).to_have_text("2.1")  # FaceModelVersion
    screenshot(page, "collections")

    row.get_by_role("link").click()
    faces = page.locator("table.Faces tbody tr")
    expect(faces).to_have_count(10)
    expect(faces.first.locator("td").nth(0)).to_have_text(face_id)  # ListFaces: in indexing order
    expect(faces.first.locator("td").nth(1)).to_have_text("obama")
    page.locator("section", has=page.locator("table.Faces")).get_by_role("button", name="Next").click()
    expect(faces).to_have_count(total - 10)
    expect(page.locator(".page-number").first).to_have_text("page 2")
    expect(page.locator("table.Users tbody td")).to_have_text(["barack", "ACTIVE"])

    page.get_by_role("link", name="Try it").click()
    page.locator("select[name=collection]").select_option(collection)
    drop_photo(page, OBAMA_AGAIN)
    expect(page.locator("table.face-matches tbody td").nth(0)).to_have_text("obama")
    similarity = float(page.locator("table.face-matches tbody td").nth(2).inner_text())
    assert similarity >= 80
    expect(page.locator("table.user-matches tbody td").nth(0)).to_have_text("barack")
    expect(page.locator("svg rect.face.searched")).to_have_count(1)
    screenshot(page, "try-it-match")


def test_group_photo_shows_a_box_and_landmarks_per_face(server, page):
    expected = next(row.n_faces_expected for row in manifest() if row.path == GROUP)
    page.goto(f"{server.url}/console/#/try")
    drop_photo(page, GROUP)
    expect(page.locator("#face-count")).to_have_text(f"{expected} faces")
    expect(page.locator("svg rect.face")).to_have_count(expected)
    expect(page.locator(".face-card")).to_have_count(expected)
    assert page.locator("svg circle.landmark").count() == 30 * expected  # Attributes ALL: all 30 landmarks
    assert page.locator(".face-card").first.get_by_text("Age ").count() == 1
    screenshot(page, "try-it-group")


def test_compare_faces_boxes_the_match_in_the_target(server, page):
    page.goto(f"{server.url}/console/#/compare")
    drop_photo(page, OBAMA, 0)
    drop_photo(page, "groups/two_people.jpg", 1)
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("table.face-matches tbody tr")).to_have_count(1)
    assert float(page.locator("table.face-matches tbody td").nth(1).inner_text()) >= 80
    expect(page.locator("svg rect.face.unmatched")).to_have_count(1)
    screenshot(page, "compare")


def test_video_face_search_timeline(server, rekognition, collection, buckets, page):
    (buckets / "console").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FACES / "video" / "short_hamilton_clip.mp4", buckets / "console" / "hamilton.mp4")
    lin = image_bytes("people/Lin-Manuel_Miranda/lin-manuel-miranda.png")
    rekognition.index_faces(CollectionId=collection, Image={"Bytes": lin}, ExternalImageId="lin")
    page.goto(f"{server.url}/console/#/video")
    page.locator("select[name=collection]").select_option(collection)
    page.locator("input[name=bucket]").fill("console")
    page.locator("input[name=key]").fill("hamilton.mp4")
    page.get_by_role("button", name="Start face search").click()
    expect(page.locator("#job-status")).to_contain_text("SUCCEEDED", timeout=120_000)
    hits = page.locator(".person-row[data-label=lin] rect.hit")
    expect(hits.first).to_be_attached()
    # Lin-Manuel Miranda is on stage, frontal, from about 2.8 s to 7.1 s: he is matched there.
    times = [int(title.split(" ms")[0]) for title in hits.locator("title").all_text_contents()]
    assert any(3000 <= time <= 7000 for time in times)
    screenshot(page, "video")


@pytest.fixture(scope="module")
def signed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("console-signed")
    process = ServerProcess(
        root / "data", env={"REKOLLECT_ACCESS_KEY_ID": KEY_ID, "REKOLLECT_SECRET_ACCESS_KEY": SECRET}
    ).start()
    yield process
    process.stop()


def test_keys_typed_into_the_page_sign_requests(signed_server, page):
    boto3.client(
        "rekognition",
        endpoint_url=signed_server.url,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    ).create_collection(CollectionId="signed")
    sent: list[str] = []
    page.on("request", lambda request: sent.append(f"{request.url} {request.all_headers()} {request.post_data}"))
    response = page.goto(f"{signed_server.url}/console/")
    assert response is not None and response.ok  # the static files need no signature
    assert "default-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator("#error")).to_contain_text("MissingAuthenticationTokenException")
    expect(page.locator("#keys")).to_be_visible()

    page.get_by_label("Access key ID").fill(KEY_ID)
    page.get_by_label("Secret access key").fill("not-the-secret")
    page.get_by_role("button", name="Use keys").click()
    expect(page.locator("#error")).to_have_text(
        "InvalidSignatureException: The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method."
    )
    expect(page.locator("#keys")).to_be_visible()
    screenshot(page, "keys")

    page.get_by_label("Secret access key").fill(SECRET)
    page.get_by_role("button", name="Use keys").click()
    expect(page.locator("#error")).to_be_hidden()
    expect(page.get_by_role("link", name="signed", exact=True)).to_be_visible()
    assert page.evaluate("Object.values(sessionStorage).join()").count(SECRET) == 1  # kept in the tab only
    assert len(sent) > 10 and not any(SECRET in request for request in sent)  # and never sent


PEOPLE = {  # ExternalImageId prefix: photos of one person each
    "kit": ["Kit_Harington/john1.jpeg", "Kit_Harington/john2.jpeg", "Kit_Harington/johnsnow_test1.jpg"],
    "obama": ["Barack_Obama/obama.jpg", "Barack_Obama/obama1.jpg", "Barack_Obama/obama3.jpg"],
    "biden": ["Joe_Biden/biden.jpg", "Joe_Biden/biden2.jpg"],
}


def user_faces(rekognition, collection: str, user_id: str) -> set[str]:
    return {face["FaceId"] for face in rekognition.list_faces(CollectionId=collection, UserId=user_id)["Faces"]}


def test_people_clusters_become_users(server, rekognition, collection, page):
    def index(path: str, name: str) -> str:
        image = {"Bytes": image_bytes(f"people/{path}")}
        record = rekognition.index_faces(CollectionId=collection, Image=image, ExternalImageId=name, MaxFaces=1)
        return record["FaceRecords"][0]["Face"]["FaceId"]

    faces = {person: {index(path, f"{person}-{i}") for i, path in enumerate(paths)} for person, paths in PEOPLE.items()}
    barack_face = index("Barack_Obama/obama2.jpg", "barack-user")  # associated: not clustered (the default)
    rekognition.create_user(CollectionId=collection, UserId="barack")
    rekognition.associate_faces(CollectionId=collection, UserId="barack", FaceIds=[barack_face])

    page.goto(f"{server.url}/console/")
    page.get_by_role("link", name="People").click()
    page.locator("select[name=collection]").select_option(collection)
    page.get_by_role("button", name="Find people").click()
    expect(page.locator("#job-status")).to_contain_text("SUCCEEDED")
    expect(page.locator("#job-summary")).to_contain_text("3 people among 8 faces")
    sections = page.locator("section.cluster")
    expect(sections).to_have_count(3)
    clusters = {}
    for section in sections.all():
        names = section.locator(".external-image-id").all_text_contents()
        (person,) = {name.split("-")[0] for name in names}  # one person per cluster
        shown = section.locator("figure.face-record").evaluate_all("figures => figures.map((f) => f.dataset.faceId)")
        assert set(shown) == faces[person]
        expect(section.locator("h3")).to_have_text(
            f"Cluster {section.get_attribute('data-cluster-id')}: {len(faces[person])} faces"
        )
        expect(section.locator("svg.frame rect.face")).to_have_count(len(faces[person]))
        clusters[person] = section
    assert set(clusters) == set(PEOPLE)

    kit = clusters["kit"]
    expect(kit.locator("input[name=user-id]")).to_have_value(f"person-{kit.get_attribute('data-cluster-id')}")
    kit.locator("input[name=user-id]").fill("kit")
    kit.get_by_role("button", name="Create user from this cluster").click()
    expect(kit.locator(".cluster-result")).to_have_text("User kit: ACTIVE, 3 face(s) associated.")
    users = {user["UserId"]: user["UserStatus"] for user in rekognition.list_users(CollectionId=collection)["Users"]}
    assert users == {"barack": "ACTIVE", "kit": "ACTIVE"}
    assert user_faces(rekognition, collection, "kit") == faces["kit"]

    obama = clusters["obama"]
    expect(obama.locator("select[name=existing-user] option")).to_have_text(["(choose a user)", "barack", "kit"])
    obama.locator("select[name=existing-user]").select_option("barack")
    obama.get_by_role("button", name="Merge into this user").click()
    expect(obama.locator(".cluster-result")).to_have_text("User barack: ACTIVE, 3 face(s) associated.")
    assert user_faces(rekognition, collection, "barack") == faces["obama"] | {barack_face}
    screenshot(page, "people")

    biden = clusters["biden"]  # an API error is shown in place: the UserId is taken
    biden.locator("input[name=user-id]").fill("kit")
    biden.get_by_role("button", name="Create user from this cluster").click()
    expect(biden.locator(".search-error")).to_contain_text("ConflictException")
    assert user_faces(rekognition, collection, "kit") == faces["kit"]
