"""The web console (``/console``) in headless Chromium, driven by Playwright, against real servers.

Debian's ``/usr/bin/chromium`` is used (``playwright install`` is never run). Without it these tests
skip, or fail when ``REKOLLECT_REQUIRE_BROWSER=1`` (CI). With ``REKOLLECT_SCREENSHOTS=<folder>`` they
save the screenshots the README shows (``docs/console/``), reduced to 64 colours. Every wait is on a
condition of the page (Playwright's ``expect``, ``wait_for_function``), never on time.
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
    "--autoplay-policy=no-user-gesture-required",
]
GROUP = "groups/t1.jpg"
OBAMA, OBAMA_AGAIN = "people/Barack_Obama/obama.jpg", "people/Barack_Obama/obama2.jpg"
KEY_ID, SECRET = "AKIDCONSOLE", "console-secret-key"
FOLDER = {  # the photos a new user drops, one folder per person
    "Barack_Obama": ["obama.jpg", "obama1.jpg", "obama3.jpg"],
    "Joe_Biden": ["biden.jpg", "biden2.jpg"],
    "Kit_Harington": ["john1.jpeg", "john2.jpeg", "johnsnow_test1.jpg"],
    "Rose_Leslie": ["img1.jpg", "img2.jpg"],
}
HOLD_AND_RECORD = """
// Test hooks: hold the first API call whose X-Amz-Target is window.__hold until window.__release(), and
// record the console's "rekollect-rendered" events.
window.__rendered = [];
window.addEventListener("rekollect-rendered", (event) => window.__rendered.push(event.detail));
const realFetch = window.fetch.bind(window);
window.fetch = (input, init) => {
  const target = init?.headers?.["X-Amz-Target"];
  if (window.__hold && target === window.__hold && !window.__held) {
    window.__held = true;
    const answer = realFetch(input, init);
    return new Promise((resolve) => { window.__release = () => resolve(answer); });
  }
  return realFetch(input, init);
};
"""


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
    errors: list[str] = []
    shown = context.new_page()
    shown.on("pageerror", lambda error: errors.append(str(error)))
    yield shown
    context.close()
    assert errors == [], f"script errors in the page: {errors}"


@pytest.fixture(scope="module")
def cropping(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server that keeps face pictures (``--face-crops``)."""
    root = tmp_path_factory.mktemp("console-crops")
    server = ServerProcess(root / "data", "--face-crops", "--s3-local-root", str(root / "buckets")).start()
    yield server
    server.stop()


def screenshot(page: Page, name: str, full_page: bool = True) -> None:
    folder = os.environ.get("REKOLLECT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shot = Image.open(io.BytesIO(page.screenshot(full_page=full_page))).convert("RGB")
        shot.quantize(colors=64).save(Path(folder) / f"{name}.png", optimize=True)


def drop_photo(page: Page, relative: str, index: int = 0) -> None:
    page.locator(".drop input[type=file]").nth(index).set_input_files(str(FACES / relative))


def photo_folder(root: Path) -> Path:
    """``FOLDER`` copied from the shared data set (at test time, never into the repo), and a photo without a face."""
    for person, files in FOLDER.items():
        (root / person).mkdir(parents=True)
        for name in files:
            shutil.copy(FACES / "people" / person / name, root / person / name)
    shutil.copy(FACES / "nonfaces/rocket.jpg", root / "rocket.jpg")
    return root


def pictures_loaded(page: Page, selector: str) -> None:
    """Wait until every picture matched by ``selector`` is a decoded image."""
    page.wait_for_function(
        "selector => [...document.querySelectorAll(selector)].every((img) => img.complete && img.naturalWidth > 0)",
        arg=selector,
    )


def test_a_new_user_names_the_people_of_a_folder_and_finds_them_in_a_group_photo(cropping, tmp_path, page):
    """The console only, face pictures on: create a collection, drop a folder of photos, see the faces as
    pictures, cluster them, name the clusters, drop a group photo and see every known person labelled."""
    folder = photo_folder(tmp_path / "family")
    page.goto(f"{cropping.url}/")  # the root opens the console
    expect(page).to_have_url(f"{cropping.url}/console/")
    page.get_by_label("New collection").fill("family")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="Collection family")).to_be_visible()
    page.locator("select[name=external-image-id]").select_option("folder")
    page.locator("input[name=folder]").set_input_files(str(folder))
    expect(page.locator("#upload-summary")).to_have_text("Done: 11 photo(s), 10 face(s) indexed.")
    expect(page.locator("table.no-face tbody tr")).to_have_count(1)
    expect(page.locator("table.no-face tbody td").first).to_have_text("family/rocket.jpg")
    expect(page.locator("#totals")).to_have_text("10 faces, 0 users, face model 2.1")
    screenshot(page, "upload")

    page.get_by_role("link", name="See the faces").click()
    cards = page.locator("#faces figure.face-card")
    expect(cards).to_have_count(10)
    expect(page.locator("#faces img.face-picture")).to_have_count(10)  # a picture of each face, none drawn
    pictures_loaded(page, "#faces img.face-picture")
    assert page.locator("#faces img.face-picture").evaluate_all("imgs => imgs.map((i) => i.naturalWidth)") == [128] * 10
    expect(page.locator(".pictures-off")).to_have_count(0)
    screenshot(page, "faces")

    page.get_by_role("link", name="People").click()
    expect(page.locator("nav#nav a[aria-current=page]")).to_have_text("People")
    page.locator("select[name=collection]").select_option("family")
    page.get_by_role("button", name="Find people").click()
    expect(page.locator("#job-status")).to_contain_text("SUCCEEDED")
    expect(page.locator("#job-summary")).to_contain_text("4 people among 10 faces")
    sections = page.locator("section.cluster")
    expect(sections).to_have_count(4)
    names = {}
    for section in sections.all():
        default = section.locator("input[name=user-id]").input_value()  # the folder the faces came from
        assert default in FOLDER
        expect(section.locator("img.face-picture")).to_have_count(len(FOLDER[default]))
        expect(section.locator(".badge")).to_have_text("Not a user yet")
        names[default] = section
    for person, section in names.items():
        section.get_by_role("button", name="Create user from this cluster").click()
        expect(section.locator(".cluster-result")).to_have_text(
            f"User {person}: ACTIVE, {len(FOLDER[person])} face(s) associated."
        )
        expect(section.locator(".badge")).to_have_text(f"Accepted: user {person}")
    pictures_loaded(page, "section.cluster img.face-picture")
    screenshot(page, "people")

    # New photos of known people join their users as they arrive.
    arrivals = tmp_path / "arrivals"
    arrivals.mkdir()
    shutil.copy(FACES / "people/Barack_Obama/obama2.jpg", arrivals / "obama2.jpg")
    shutil.copy(FACES / "groups/kit_with_rose.jpg", arrivals / "party.jpg")
    page.get_by_role("link", name="Collections").click()
    page.get_by_role("link", name="family", exact=True).click()
    page.get_by_role("link", name="Add photos").click()
    page.locator("input[name=associate-users]").check()
    page.locator("input[name=photos]").set_input_files([str(arrivals / "obama2.jpg"), str(arrivals / "party.jpg")])
    expect(page.locator("#upload-summary")).to_have_text("Done: 2 photo(s), 3 face(s) indexed.")
    recognised = page.locator("table.associations tbody tr")
    expect(recognised).to_have_count(3)
    rows = {tuple(row.locator("td").all_text_contents()[i] for i in (0, 1, 3)) for row in recognised.all()}
    assert rows == {
        ("obama2.jpg", "Barack_Obama", "associated"),
        ("party.jpg", "Kit_Harington", "associated"),
        ("party.jpg", "Rose_Leslie", "associated"),
    }
    expect(page.locator("#totals")).to_have_text("13 faces, 4 users, face model 2.1")
    screenshot(page, "upload-known-people")

    page.get_by_role("link", name="Try it").click()
    page.locator("select[name=collection]").select_option("family")
    drop_photo(page, "groups/obama_and_biden.jpg")
    expect(page.locator("#face-count")).to_have_text("3 faces, 2 known in family")
    labels = page.locator("figure.photo svg text").all_text_contents()
    assert sorted(label.split(": ")[1].rsplit(" ", 1)[0] for label in labels) == ["Barack_Obama", "Joe_Biden", "unknown"]
    assert all(float(label.rsplit(" ", 1)[1]) >= 80 for label in labels if "unknown" not in label)
    expect(page.locator(".face-card .best-name")).to_have_text(["Barack_Obama", "Joe_Biden"])
    expect(page.locator(".face-card img.match-picture")).to_have_count(2)  # the stored face each matched
    pictures_loaded(page, ".face-card img.match-picture")
    screenshot(page, "try-it-group")

    page.get_by_role("link", name="Collections").click()
    row = page.locator("#collections tr", has=page.get_by_role("link", name="family", exact=True))
    expect(row.locator("td").nth(1)).to_have_text("13")  # FaceCount
    expect(row.locator("td").nth(2)).to_have_text("4")  # UserCount
    expect(row.locator("td").nth(3)).to_have_text("2.1")  # FaceModelVersion
    screenshot(page, "collections")
    page.get_by_role("link", name="family", exact=True).click()
    page.get_by_role("link", name="Users").click()
    expect(page.locator("#users figure.user-card")).to_have_count(4)
    expect(page.locator("#users img.face-picture")).to_have_count(4)
    pictures_loaded(page, "#users img.face-picture")
    screenshot(page, "users")


def test_collections_created_and_deleted_and_errors_styled(server, rekognition, page):
    page.goto(f"{server.url}/console/")
    expect(page.locator("nav#nav a[aria-current=page]")).to_have_text("Collections")
    page.get_by_label("New collection").fill("console-made")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="Collection console-made")).to_be_visible()
    assert "console-made" in rekognition.list_collections()["CollectionIds"]
    page.get_by_role("link", name="Collections").click()
    page.get_by_label("New collection").fill("console-made")  # taken: the API's error, styled in place
    page.get_by_role("button", name="Create").click()
    error = page.locator(".message .error")
    expect(error).to_contain_text("ResourceAlreadyExistsException")
    assert error.evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
    row = page.locator("#collections tr", has=page.get_by_role("link", name="console-made", exact=True))
    row.get_by_role("button", name="Delete").click()
    expect(row).to_contain_text("Delete console-made with its 0 faces?")
    row.get_by_role("button", name="Yes, delete").click()
    expect(page.get_by_role("link", name="console-made", exact=True)).to_have_count(0)
    assert "console-made" not in rekognition.list_collections()["CollectionIds"]


def test_faces_paged_filtered_deleted_and_removed_from_users_without_pictures(server, rekognition, collection, page):
    """Pictures off (the session server): one line says how to turn them on; faces are drawn from their records."""
    group = image_bytes(GROUP)
    for name in ("group-a", "group-b", "group-c", "group-d", "group-e"):
        rekognition.index_faces(CollectionId=collection, Image={"Bytes": group}, ExternalImageId=name)
    obama = rekognition.index_faces(CollectionId=collection, Image={"Bytes": image_bytes(OBAMA)}, ExternalImageId="obama")
    obama_id = obama["FaceRecords"][0]["Face"]["FaceId"]
    rekognition.create_user(CollectionId=collection, UserId="barack")
    rekognition.associate_faces(CollectionId=collection, UserId="barack", FaceIds=[obama_id])
    page.goto(f"{server.url}/console/#/collection/{collection}")
    expect(page.locator("#totals")).to_have_text("31 faces, 1 user, face model 2.1")
    cards = page.locator("#faces figure.face-card")
    expect(cards).to_have_count(24)
    expect(page.locator(".pictures-off")).to_have_count(1)
    expect(page.locator(".pictures-off")).to_contain_text("--face-crops")
    expect(page.locator("#faces svg.face-picture.frame rect.face")).to_have_count(24)  # each record's box
    page.get_by_role("button", name="Next").click()
    expect(cards).to_have_count(7)
    expect(page.locator(".page-number")).to_have_text("page 2")
    screenshot(page, "faces-without-pictures")

    page.locator("select[name=user-filter]").select_option("barack")
    expect(cards).to_have_count(1)
    expect(cards.first.locator(".user-badge")).to_have_text("barack")
    page.locator("select[name=user-filter]").select_option("")
    page.locator("input[name=external-image-id-filter]").fill("group-c")
    page.get_by_role("button", name="Filter").click()
    expect(cards).to_have_count(6)
    expect(cards.locator(".external-image-id")).to_have_text(["group-c"] * 6)

    cards.nth(0).locator("input[name=face]").check()
    cards.nth(1).locator("input[name=face]").check()
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.locator(".message .done")).to_have_text("2 face(s) deleted.")
    expect(cards).to_have_count(4)
    expect(page.locator("#totals")).to_have_text("29 faces, 1 user, face model 2.1")

    page.locator("input[name=external-image-id-filter]").fill("obama")
    page.get_by_role("button", name="Filter").click()
    expect(cards).to_have_count(1)
    cards.first.locator("input[name=face]").check()
    page.get_by_role("button", name="Delete", exact=True).click()  # still a user's: refused, and said why
    expect(page.locator(".message .done")).to_contain_text("ASSOCIATED_TO_AN_EXISTING_USER")
    cards.first.locator("input[name=face]").check()
    page.get_by_role("button", name="Remove from their user").click()
    expect(page.locator(".message .done")).to_have_text("1 face(s) removed from their user.")
    expect(cards.first.locator(".user-badge")).to_have_count(0)
    assert rekognition.list_faces(CollectionId=collection, UserId="barack")["Faces"] == []


def test_users_renamed_merged_and_deleted(cropping, page):
    rekognition = cropping.client()
    rekognition.create_collection(CollectionId="renames")
    try:
        faces = {}
        for n, path in enumerate(["obama.jpg", "obama1.jpg", "obama3.jpg"]):
            record = rekognition.index_faces(
                CollectionId="renames", Image={"Bytes": image_bytes(f"people/Barack_Obama/{path}")}, MaxFaces=1
            )
            faces[n] = record["FaceRecords"][0]["Face"]["FaceId"]
        for user, face in (("barak", 0), ("obama", 1), ("potus", 2)):
            rekognition.create_user(CollectionId="renames", UserId=user)
            rekognition.associate_faces(CollectionId="renames", UserId=user, FaceIds=[faces[face]])
        page.goto(f"{cropping.url}/console/#/collection/renames/users")
        card = page.locator("#users figure.user-card[data-user-id=barak]")
        card.locator("input[name=new-user-id]").fill("barack")
        card.get_by_role("button", name="Rename").click()
        expect(page.locator(".message .done")).to_have_text("User barak is now barack (1 face(s)).")
        expect(page.locator("#users figure.user-card")).to_have_count(3)
        users = {user["UserId"] for user in rekognition.list_users(CollectionId="renames")["Users"]}
        assert users == {"barack", "obama", "potus"}
        assert [face["FaceId"] for face in rekognition.list_faces(CollectionId="renames", UserId="barack")["Faces"]] == [faces[0]]

        card = page.locator("#users figure.user-card[data-user-id=potus]")
        card.locator("select[name=merge-into]").select_option("barack")
        card.get_by_role("button", name="Merge").click()
        expect(page.locator(".message .done")).to_have_text("potus merged into barack (1 face(s) moved).")
        expect(page.locator("#users figure.user-card")).to_have_count(2)
        merged = {face["FaceId"] for face in rekognition.list_faces(CollectionId="renames", UserId="barack")["Faces"]}
        assert merged == {faces[0], faces[2]}
        expect(page.locator("#users figure.user-card[data-user-id=barack] .user-status")).to_have_text("ACTIVE, 2 faces")
        pictures_loaded(page, "#users img.face-picture")

        page.locator("#users figure.user-card[data-user-id=barack] a.user-id").click()
        expect(page.get_by_role("heading", name="User barack: ACTIVE, 2 faces")).to_be_visible()
        page.locator("#faces figure.face-card").first.locator("input[name=face]").check()
        page.get_by_role("button", name="Remove from this user").click()
        expect(page.locator(".message .done")).to_have_text("1 face(s) removed from barack.")
        expect(page.locator("#faces figure.face-card")).to_have_count(1)

        page.get_by_role("link", name="Users").click()
        card = page.locator("#users figure.user-card[data-user-id=obama]")
        card.get_by_role("button", name="Delete user").click()
        card.get_by_role("button", name="Yes, delete user").click()
        expect(page.locator(".message .done")).to_have_text("User obama deleted.")
        assert {user["UserId"] for user in rekognition.list_users(CollectionId="renames")["Users"]} == {"barack"}
    finally:
        rekognition.delete_collection(CollectionId="renames")


def test_group_photo_shows_a_box_landmarks_and_a_picture_per_face(server, page):
    expected = next(row.n_faces_expected for row in manifest() if row.path == GROUP)
    page.goto(f"{server.url}/console/#/try")
    expect(page.locator("nav#nav a[aria-current=page]")).to_have_text("Try it")
    drop_photo(page, GROUP)
    expect(page.locator("#face-count")).to_have_text(f"{expected} faces")
    expect(page.locator("svg rect.face")).to_have_count(expected)
    expect(page.locator(".face-card")).to_have_count(expected)
    expect(page.locator(".face-card canvas.from-photo")).to_have_count(expected)  # drawn from the photo itself
    assert page.locator("svg circle.landmark").count() == 30 * expected  # Attributes ALL: all 30 landmarks
    assert page.locator(".face-card").first.get_by_text("Age ").count() == 1


def test_a_match_without_pictures_and_a_photo_without_a_face(server, rekognition, collection, page):
    rekognition.index_faces(CollectionId=collection, Image={"Bytes": image_bytes(OBAMA)}, ExternalImageId="obama")
    page.goto(f"{server.url}/console/#/try")
    page.locator("select[name=collection]").select_option(collection)
    drop_photo(page, OBAMA_AGAIN)
    expect(page.locator("#face-count")).to_have_text(f"1 face, 1 known in {collection}")
    expect(page.locator(".face-card .best-name")).to_have_text("obama")
    assert float(page.locator(".face-card .similarity").inner_text()) >= 80
    expect(page.locator(".pictures-off")).to_have_count(1)  # the one line; the photo's own face is still drawn
    expect(page.locator(".face-card canvas.from-photo")).to_have_count(1)
    screenshot(page, "try-it-match")

    drop_photo(page, "nonfaces/rocket.jpg")
    expect(page.locator("#face-count")).to_have_text(
        "No face was found in rocket.jpg. Faces need to be at least 40 pixels wide, and turned less than about 90° from the camera."
    )
    expect(page.locator("#results")).not_to_contain_text("InvalidParameterException")


def test_compare_faces_boxes_the_match_in_the_target(server, page):
    page.goto(f"{server.url}/console/#/compare")
    drop_photo(page, OBAMA, 0)
    drop_photo(page, "groups/two_people.jpg", 1)
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("table.face-matches tbody tr")).to_have_count(1)
    assert float(page.locator("table.face-matches tbody td").nth(2).inner_text()) >= 80
    expect(page.locator("svg rect.face.unmatched")).to_have_count(1)
    expect(page.locator("canvas.from-photo")).to_have_count(3)  # the source face, the match, the other face
    screenshot(page, "compare")

    drop_photo(page, "nonfaces/rocket.jpg", 0)
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("#results .error")).to_have_text(
        "No face was found in the source photo: it needs a face at least 40 pixels wide."
    )


def test_video_uploaded_searched_played_and_listed(server, rekognition, collection, page):
    lin = image_bytes("people/Lin-Manuel_Miranda/lin-manuel-miranda.png")
    rekognition.index_faces(CollectionId=collection, Image={"Bytes": lin}, ExternalImageId="lin")
    page.goto(f"{server.url}/console/#/video")
    page.locator("select[name=collection]").select_option(collection)
    page.locator(".drop input[type=file]").set_input_files(str(FACES / "video" / "short_hamilton_clip.mp4"))
    expect(page.locator("#job-status")).to_contain_text("SUCCEEDED", timeout=120_000)
    hits = page.locator(".person-row[data-label=lin] rect.hit")
    expect(hits.first).to_be_attached()
    # Lin-Manuel Miranda is on stage, frontal, from about 2.8 s to 7.1 s: he is matched there.
    times = [int(title.split(" ms")[0]) for title in hits.locator("title").all_text_contents()]
    assert any(3000 <= time <= 7000 for time in times)
    # The file uploaded in this tab plays beside the timeline; a click on a match seeks there.
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    assert page.evaluate("() => document.getElementById('player').error") is None
    mark = next(time for time in times if 3000 <= time <= 7000)
    page.locator(f".person-row[data-label=lin] rect.hit[data-time='{mark}']").first.click()
    page.wait_for_function(f"() => Math.abs(document.getElementById('player').currentTime - {mark / 1000}) < 1.5")
    screenshot(page, "video")

    page.get_by_role("link", name="← every job").click()
    row = page.locator("table.jobs tbody tr").first
    expect(row.locator(".status")).to_have_text("SUCCEEDED")
    expect(row.locator(".progress-caption")).to_have_text("100 %")
    expect(row).to_contain_text(collection)


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
        expect(section.locator("h3")).to_contain_text(
            f"Cluster {section.get_attribute('data-cluster-id')}: {len(faces[person])} faces"
        )
        expect(section.locator("svg.frame rect.face")).to_have_count(len(faces[person]))  # no pictures: boxes
        clusters[person] = section
    assert set(clusters) == set(PEOPLE)
    expect(page.locator(".pictures-off")).to_have_count(1)

    kit = clusters["kit"]  # no ExternalImageId is on most of its faces: person-<ClusterId>
    expect(kit.locator("input[name=user-id]")).to_have_value(f"person-{kit.get_attribute('data-cluster-id')}")
    kit.locator("input[name=user-id]").fill("kit")
    kit.get_by_role("button", name="Create user from this cluster").click()
    expect(kit.locator(".cluster-result")).to_have_text("User kit: ACTIVE, 3 face(s) associated.")
    expect(kit.locator(".badge")).to_have_text("Accepted: user kit")
    users = {user["UserId"]: user["UserStatus"] for user in rekognition.list_users(CollectionId=collection)["Users"]}
    assert users == {"barack": "ACTIVE", "kit": "ACTIVE"}
    assert user_faces(rekognition, collection, "kit") == faces["kit"]

    obama = clusters["obama"]
    expect(obama.locator("select[name=existing-user] option")).to_have_text(["(choose a user)", "barack", "kit"])
    obama.locator("select[name=existing-user]").select_option("barack")
    obama.get_by_role("button", name="Merge into this user").click()
    expect(obama.locator(".cluster-result")).to_have_text("User barack: ACTIVE, 3 face(s) associated.")
    expect(obama.locator(".badge")).to_have_text("Accepted: user barack")
    assert user_faces(rekognition, collection, "barack") == faces["obama"] | {barack_face}

    biden = clusters["biden"]  # an API error is shown in place: the UserId is taken
    biden.locator("input[name=user-id]").fill("kit")
    biden.get_by_role("button", name="Create user from this cluster").click()
    expect(biden.locator(".cluster-result .error")).to_contain_text("ConflictException")
    expect(biden.locator(".badge")).to_have_text("Not a user yet")
    assert user_faces(rekognition, collection, "kit") == faces["kit"]

    page.get_by_role("link", name="← every job").click()  # the job is listed, finished
    row = page.locator("table.jobs tbody tr").first
    expect(row.locator(".status")).to_have_text("SUCCEEDED")
    expect(row).to_contain_text(collection)


def test_regression_the_people_form_shows_its_inputs(server, page):
    """The form's number inputs were nested two arrays deep, and ``dom.js`` flattened one level: the page
    showed "[object HTMLLabelElement], [object HTMLLabelElement]," where they belong."""
    page.goto(f"{server.url}/console/#/people")
    form = page.locator("#start-clustering")
    expect(form.locator("input[name=FaceMatchThreshold]")).to_be_visible()
    expect(form.locator("input[name=MinClusterSize]")).to_be_visible()
    expect(form).not_to_contain_text("[object")
    flattened = page.evaluate(
        "async () => { const { h } = await import('./dom.js'); return h('p', null, [['a', ['b', [null, 'c']]]]).textContent; }"
    )
    assert flattened == "abc"


def test_regression_a_slow_page_never_covers_the_page_asked_for_after_it(server, rekognition, collection, page):
    """Two quick clicks: the Collections page waits for ListCollections (held here) while the user moves on
    to Compare; when the answer comes, Compare stays on screen."""
    page.add_init_script(HOLD_AND_RECORD)
    page.goto(f"{server.url}/console/#/compare")
    expect(page.get_by_role("heading", name="Compare faces")).to_be_visible()
    page.evaluate("() => { window.__hold = 'RekognitionService.ListCollections'; }")
    page.evaluate("() => { location.hash = '#/collections'; }")
    page.wait_for_function("() => window.__held === true")
    page.evaluate("() => { location.hash = '#/compare'; }")
    expect(page.get_by_role("heading", name="Compare faces")).to_be_visible()
    page.evaluate("() => window.__release()")
    page.wait_for_function(  # the Collections page's work has ended, one way or the other
        "() => window.__rendered.some((e) => e.page === 'collections')"
        " || document.querySelector('#page h2')?.textContent === 'Collections'"
    )
    expect(page.locator("#page h2")).to_have_text("Compare faces")
    expect(page.locator("nav#nav a[aria-current=page]")).to_have_text("Compare")


def test_phone_width(server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        phone = context.new_page()
        phone.goto(f"{server.url}/console/#/try")
        expect(phone.get_by_role("heading", name="Try it")).to_be_visible()
        drop_photo(phone, GROUP)
        expect(phone.locator(".face-card")).to_have_count(6)
        for link in ("Collections", "Try it", "Compare", "Video", "People"):
            expect(phone.get_by_role("link", name=link, exact=True)).to_be_attached()
        # Nothing wider than the screen: no sideways scrolling of the page.
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
        screenshot(phone, "phone", full_page=False)
    finally:
        context.close()
