"""CellHub ImageService end to end (images.proto): UploadImages (formats by magic bytes,
validation, size limits, atomicity, idempotency), GetImage, ListImages, GetImageContent,
DeleteImage, DeleteImages."""
from __future__ import annotations

import re

import grpc
import pytest

from api_support import (
    API_OPTIONS,
    MiB,
    Client,
    Code,
    add_user,
    common_pb2,
    expect_error,
    images_pb2,
    jpeg,
    ok,
    pgm,
    png,
    random_id,
    requires_cellhubd,
    segmentation_pb2,
    sha256_hex,
    start_api,
    tamper_token,
    tiff,
    unique,
    upload_of,
)
from conftest import CHANNEL_OPTIONS, Server

pytestmark = requires_cellhubd

I = images_pb2
S = segmentation_pb2
NO_SEG = common_pb2.SEGMENTATION_STATUS_NO_SEGMENTATION
QUEUED = common_pb2.SEGMENTATION_STATUS_QUEUED
IMAGE_LIMIT = 32 * MiB


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    api = start_api(tmp_path_factory, users=("alice", "bob", "carol"))
    yield api
    api.close()


@pytest.fixture
def project(api):
    return api.alice.create_project(unique("img"))


def upload_request(project_id, *uploads, key=""):
    return I.UploadImagesRequest(project_id=project_id, images=list(uploads), idempotency_key=key)


def image_count(api, project_id) -> int:
    return api.alice.project_stats(project_id).image_count


# ---------------------------------------------------------------------------------------------
# upload / get / content


def test_upload_all_formats_in_one_call(api, project):
    contents = [
        ("a.png", "image/png", png(1)),
        ("b.jpg", "image/jpeg", jpeg(2)),
        ("c.tif", "image/tiff", tiff(3)),
        ("d.pgm", "image/x-portable-graymap", pgm(4)),
        ("e.pgm", "image/x-portable-graymap", b"P2\n1 1\n255\n7\n"),
        ("f.tif", "image/tiff", b"MM\x00\x2a\x00\x00\x00\x08" + b"\x00" * 8),
    ]
    reply = ok(api.alice.images.UploadImages, upload_request(
        project.id, *[I.ImageUpload(name=n, content_type=t, content=c) for n, t, c in contents]))
    assert not reply.replayed
    assert len(reply.images) == len(contents), f"{len(reply.images)} images returned for {len(contents)} uploaded"
    for image, (name, content_type, content) in zip(reply.images, contents):
        assert image.id and image.project_id == project.id
        assert (image.name, image.content_type, image.size_bytes, image.sha256_hex) == (
            name, content_type, len(content), sha256_hex(content)), image
        assert image.status == NO_SEG, common_pb2.SegmentationStatus.Name(image.status)
        assert image.uploaded_by.user_name == "alice"
        assert image.uploaded_at_unix_ms > 0 and image.job_id == "" and image.cell_count == 0
        got = ok(api.alice.images.GetImage, I.GetImageRequest(image_id=image.id)).image
        assert got == image, f"GetImage differs from the upload response:\n{got}\nvs\n{image}"
        body = ok(api.alice.images.GetImageContent, I.GetImageContentRequest(image_id=image.id))
        assert body.content == content, f"{name}: content differs from the upload"
        assert (body.content_type, body.sha256_hex, body.name, body.size_bytes) == (
            content_type, sha256_hex(content), name, len(content)), body
    assert len({i.id for i in reply.images}) == len(contents), "image ids are not unique"
    assert image_count(api, project.id) == len(contents)


def test_upload_with_matching_sha256(api, project):
    content = png(10)
    reply = ok(api.alice.images.UploadImages, upload_request(project.id, I.ImageUpload(
        name="x.png", content_type="image/png", content=content, sha256_hex=sha256_hex(content).upper())))
    assert reply.images[0].sha256_hex == sha256_hex(content)


def test_upload_with_wrong_sha256_is_invalid(api, project):
    err = expect_error(Code.INVALID_ARGUMENT, api.alice.images.UploadImages, upload_request(project.id, I.ImageUpload(
        name="x.png", content_type="image/png", content=png(11), sha256_hex="0" * 64)), "sha256 mismatch")
    assert "sha" in err.details().lower(), f"message should name the checksum: {err.details()!r}"
    assert image_count(api, project.id) == 0


def test_get_image_errors(api):
    expect_error(Code.INVALID_ARGUMENT, api.alice.images.GetImage, I.GetImageRequest(image_id="not-an-id"))
    expect_error(Code.NOT_FOUND, api.alice.images.GetImage, I.GetImageRequest(image_id=random_id()))
    expect_error(Code.INVALID_ARGUMENT, api.alice.images.GetImageContent, I.GetImageContentRequest(image_id=""))
    expect_error(Code.NOT_FOUND, api.alice.images.GetImageContent, I.GetImageContentRequest(image_id=random_id()))


def test_upload_to_unknown_or_bad_project(api):
    expect_error(Code.NOT_FOUND, api.alice.images.UploadImages, upload_request(random_id(), upload_of("image/png")))
    expect_error(Code.INVALID_ARGUMENT, api.alice.images.UploadImages, upload_request("bad-id", upload_of("image/png")))


# ---------------------------------------------------------------------------------------------
# validation


@pytest.mark.parametrize("declared, content", [
    ("image/jpeg", png(1)),
    ("image/png", jpeg(1)),
    ("image/png", tiff(1)),
    ("image/tiff", pgm(1)),
    ("image/x-portable-graymap", png(1)),
], ids=["png-as-jpeg", "jpeg-as-png", "tiff-as-png", "pgm-as-tiff", "png-as-pgm"])
def test_magic_bytes_must_match_content_type(api, project, declared, content):
    err = expect_error(Code.INVALID_ARGUMENT, api.alice.images.UploadImages,
                       upload_request(project.id, I.ImageUpload(name="m.img", content_type=declared, content=content)),
                       f"content declared {declared}")
    message = err.details().lower()
    assert "content" in message or "magic" in message or "type" in message, f"message should name the problem: {err.details()!r}"
    assert image_count(api, project.id) == 0


def test_unrecognised_content_is_invalid(api, project):
    err = expect_error(Code.INVALID_ARGUMENT, api.alice.images.UploadImages, upload_request(
        project.id, I.ImageUpload(name="t.png", content_type="image/png", content=b"GIF89a this is no png")), "GIF bytes as png")
    assert "magic" in err.details().lower() or "png" in err.details().lower(), err.details()


def test_message_names_the_offending_index(api, project):
    good = upload_of("image/png", 1)
    bad = I.ImageUpload(name="bad.jpg", content_type="image/jpeg", content=png(2))
    err = expect_error(Code.INVALID_ARGUMENT, api.alice.images.UploadImages,
                       upload_request(project.id, good, good, bad, good), "bad image at index 2")
    assert re.search(r"\b2\b", err.details()), f"message should name index 2: {err.details()!r}"
    assert image_count(api, project.id) == 0, "a refused upload stored some images (must be atomic)"


@pytest.mark.parametrize("content_type", ["image/gif", "", "IMAGE/PNG?", "application/octet-stream", "image/bmp"],
                         ids=["gif", "empty", "garbled", "octet-stream", "bmp"])
def test_unknown_content_type_is_invalid(api, project, content_type):
    err = expect_error(Code.INVALID_ARGUMENT, api.alice.images.UploadImages, upload_request(
        project.id, I.ImageUpload(name="u.img", content_type=content_type, content=png(1))), f"content_type {content_type!r}")
    assert "content_type" in err.details() or "content type" in err.details().lower(), err.details()


def test_empty_content_is_invalid(api, project):
    err = expect_error(Code.INVALID_ARGUMENT, api.alice.images.UploadImages, upload_request(
        project.id, I.ImageUpload(name="e.png", content_type="image/png", content=b"")), "empty content")
    assert "empty" in err.details().lower() or "content" in err.details().lower(), err.details()


@pytest.mark.parametrize("name", ["", "a/b.png", "nul\x00.png", "x" * 256], ids=["empty", "slash", "nul", "256-chars"])
def test_bad_image_name_is_invalid(api, project, name):
    expect_error(Code.INVALID_ARGUMENT, api.alice.images.UploadImages, upload_request(
        project.id, I.ImageUpload(name=name, content_type="image/png", content=png(1))), f"image name {name[:20]!r}")


def test_no_images_or_too_many_is_invalid(api, project):
    expect_error(Code.INVALID_ARGUMENT, api.alice.images.UploadImages, upload_request(project.id), "no images")
    expect_error(Code.INVALID_ARGUMENT, api.alice.images.UploadImages,
                 upload_request(project.id, *[upload_of("image/x-portable-graymap", i) for i in range(101)]), "101 images")
    reply = ok(api.alice.images.UploadImages,
               upload_request(project.id, *[upload_of("image/x-portable-graymap", i) for i in range(100)]), "100 images")
    assert len(reply.images) == 100
    assert image_count(api, project.id) == 100


def test_image_over_the_size_limit_is_invalid(api, project):
    content = png(1) + b"\x00" * (IMAGE_LIMIT + 1 - len(png(1)))
    assert len(content) == IMAGE_LIMIT + 1
    err = expect_error(Code.INVALID_ARGUMENT, api.alice.images.UploadImages,
                       upload_request(project.id, I.ImageUpload(name="big.png", content_type="image/png", content=content)),
                       "image of 32 MiB + 1 byte", timeout=120)
    assert "limit" in err.details().lower() or "bytes" in err.details().lower() or "large" in err.details().lower(), err.details()
    assert image_count(api, project.id) == 0


def test_image_at_the_size_limit_round_trips(api, project):
    content = png(2) + bytes(range(256)) * ((IMAGE_LIMIT - len(png(2))) // 256)
    content += b"\x01" * (IMAGE_LIMIT - len(content))
    assert len(content) == IMAGE_LIMIT
    image = ok(api.alice.images.UploadImages, upload_request(
        project.id, I.ImageUpload(name="max.png", content_type="image/png", content=content)), timeout=120).images[0]
    assert image.size_bytes == IMAGE_LIMIT and image.sha256_hex == sha256_hex(content)
    body = ok(api.alice.images.GetImageContent, I.GetImageContentRequest(image_id=image.id), timeout=120)
    assert body.size_bytes == IMAGE_LIMIT and body.sha256_hex == sha256_hex(content)
    assert body.content == content, "32 MiB image content differs from the upload"


def test_request_over_the_message_limit_is_resource_exhausted(api, project):
    chunk = png(3) + b"\x00" * (22 * MiB)
    uploads = [I.ImageUpload(name=f"p{i}.png", content_type="image/png", content=chunk) for i in range(3)]
    expect_error(Code.RESOURCE_EXHAUSTED, api.alice.images.UploadImages, upload_request(project.id, *uploads),
                 "UploadImages of ~66 MiB", timeout=120)
    assert image_count(api, project.id) == 0


# ---------------------------------------------------------------------------------------------
# idempotency


def test_same_key_twice_replays(api, project):
    uploads = [upload_of("image/png", 20, name="one.png"), upload_of("image/jpeg", 21, name="two.jpg")]
    key = unique("key")
    first = ok(api.alice.images.UploadImages, upload_request(project.id, *uploads, key=key))
    assert not first.replayed
    count = image_count(api, project.id)
    assert count == 2
    second = ok(api.alice.images.UploadImages, upload_request(project.id, *uploads, key=key), "retry with the same key")
    assert second.replayed, "a retry with the same idempotency_key must say replayed = true"
    assert [i.id for i in second.images] == [i.id for i in first.images], "replay returned other image ids"
    assert image_count(api, project.id) == count, "a replay stored images again"
    listed = ok(api.alice.images.ListImages, I.ListImagesRequest(project_id=project.id))
    assert listed.total_size == 2


def test_replay_after_the_images_were_deleted_stores_nothing(api, project):
    uploads = [upload_of("image/png", 60), upload_of("image/png", 61)]
    key = unique("key")
    first = ok(api.alice.images.UploadImages, upload_request(project.id, *uploads, key=key))
    ok(api.alice.images.DeleteImages, I.DeleteImagesRequest(project_id=project.id, image_ids=[i.id for i in first.images]))
    assert image_count(api, project.id) == 0
    again = ok(api.alice.images.UploadImages, upload_request(project.id, *uploads, key=key), "replay after delete")
    assert again.replayed and [i.id for i in again.images] == [i.id for i in first.images], again
    assert image_count(api, project.id) == 0, "a replay re-created deleted images"


def test_same_key_for_a_different_request_fails_precondition(api, project):
    key = unique("key")
    ok(api.alice.images.UploadImages, upload_request(project.id, upload_of("image/png", 30), key=key))
    expect_error(Code.FAILED_PRECONDITION, api.alice.images.UploadImages,
                 upload_request(project.id, upload_of("image/png", 31), key=key), "reused key, different content")
    assert image_count(api, project.id) == 1


def test_key_is_scoped_to_project_and_caller(api, project):
    other = api.alice.create_project(unique("img-other"))
    api.alice.share(project.id, api.bob, common_pb2.ROLE_EDITOR)
    key = unique("key")
    upload = upload_of("image/png", 40)
    a = ok(api.alice.images.UploadImages, upload_request(project.id, upload, key=key))
    b = ok(api.alice.images.UploadImages, upload_request(other.id, upload, key=key), "same key, other project")
    c = ok(api.bob.images.UploadImages, upload_request(project.id, upload, key=key), "same key, other caller")
    assert not b.replayed and not c.replayed
    assert len({a.images[0].id, b.images[0].id, c.images[0].id}) == 3
    assert image_count(api, project.id) == 2


def test_without_key_a_retry_duplicates(api, project):
    upload = upload_of("image/png", 50)
    a = ok(api.alice.images.UploadImages, upload_request(project.id, upload))
    b = ok(api.alice.images.UploadImages, upload_request(project.id, upload))
    assert a.images[0].id != b.images[0].id and not b.replayed
    assert image_count(api, project.id) == 2


@pytest.mark.parametrize("key", ["k" * 129, "tab\tkey", "new\nline", "ключ"], ids=["129-chars", "tab", "newline", "non-ascii"])
def test_malformed_key_is_invalid(api, project, key):
    expect_error(Code.INVALID_ARGUMENT, api.alice.images.UploadImages,
                 upload_request(project.id, upload_of("image/png", 1), key=key), f"idempotency_key {key[:20]!r}")


# ---------------------------------------------------------------------------------------------
# list


def test_list_images_order_paging_and_filters(api, project):
    first = api.alice.upload(project.id, *[upload_of("image/png", i, name=f"alpha-{i}.png") for i in range(3)]).images
    second = api.alice.upload(project.id, *[upload_of("image/jpeg", i, name=f"beta-{i}.jpg") for i in range(2)]).images
    everything = list(first) + list(second)

    seen, token, pages = [], "", 0
    while True:
        reply = ok(api.alice.images.ListImages, I.ListImagesRequest(project_id=project.id, page_size=2, page_token=token))
        assert reply.total_size == 5, reply.total_size
        assert len(reply.images) <= 2
        seen.extend(reply.images)
        pages += 1
        token = reply.next_page_token
        if not token:
            break
        assert pages < 10, "ListImages never ends"
    assert pages == 3, f"5 images at page_size 2 should be 3 pages, got {pages}"
    expected = sorted(everything, key=lambda i: (i.uploaded_at_unix_ms, i.id), reverse=True)
    assert [i.id for i in seen] == [i.id for i in expected], "order should be most recently uploaded first, ties by id"

    by_name = ok(api.alice.images.ListImages, I.ListImagesRequest(project_id=project.id, name_contains="BETA"))
    assert {i.id for i in by_name.images} == {i.id for i in second} and by_name.total_size == 2

    no_seg = ok(api.alice.images.ListImages, I.ListImagesRequest(project_id=project.id, statuses=[NO_SEG]))
    assert no_seg.total_size == 5 and len(no_seg.images) == 5
    queued = ok(api.alice.images.ListImages, I.ListImagesRequest(project_id=project.id, statuses=[QUEUED]))
    assert queued.total_size == 0 and not queued.images
    ignored = ok(api.alice.images.ListImages, I.ListImagesRequest(
        project_id=project.id, statuses=[common_pb2.SEGMENTATION_STATUS_UNSPECIFIED]))
    assert ignored.total_size == 5, "UNSPECIFIED entries are ignored (no filtering)"


def test_list_images_status_filter_after_enqueue(api, project):
    images = api.alice.upload(project.id, *[upload_of("image/png", i) for i in range(3)]).images
    enq = ok(api.alice.seg.EnqueueSegmentation, S.EnqueueSegmentationRequest(
        project_id=project.id, images=S.ImageIdList(image_ids=[images[0].id])))
    assert enq.enqueued_count == 1
    queued = ok(api.alice.images.ListImages, I.ListImagesRequest(project_id=project.id, statuses=[QUEUED]))
    assert [i.id for i in queued.images] == [images[0].id] and queued.images[0].status == QUEUED
    assert queued.images[0].job_id == enq.jobs[0].job_id
    rest = ok(api.alice.images.ListImages, I.ListImagesRequest(project_id=project.id, statuses=[NO_SEG]))
    assert {i.id for i in rest.images} == {images[1].id, images[2].id}
    both = ok(api.alice.images.ListImages, I.ListImagesRequest(project_id=project.id, statuses=[NO_SEG, QUEUED]))
    assert both.total_size == 3
    ok(api.alice.seg.CancelSegmentation, S.CancelSegmentationRequest(project_id=project.id))


def test_list_images_bad_paging(api, project):
    api.alice.upload(project.id, *[upload_of("image/png", i) for i in range(3)])
    expect_error(Code.INVALID_ARGUMENT, api.alice.images.ListImages, I.ListImagesRequest(project_id=project.id, page_size=-5))
    first = ok(api.alice.images.ListImages, I.ListImagesRequest(project_id=project.id, page_size=1))
    assert first.next_page_token
    expect_error(Code.INVALID_ARGUMENT, api.alice.images.ListImages,
                 I.ListImagesRequest(project_id=project.id, page_size=1, page_token=tamper_token(first.next_page_token)),
                 "tampered page token")
    expect_error(Code.INVALID_ARGUMENT, api.alice.images.ListImages,
                 I.ListImagesRequest(project_id=project.id, page_size=1, page_token="%%%"), "garbage page token")
    expect_error(Code.INVALID_ARGUMENT, api.alice.images.ListImages,
                 I.ListImagesRequest(project_id=project.id, page_size=1, statuses=[QUEUED], page_token=first.next_page_token),
                 "page token with another status filter")
    expect_error(Code.NOT_FOUND, api.alice.images.ListImages, I.ListImagesRequest(project_id=random_id()))


# ---------------------------------------------------------------------------------------------
# delete


def test_delete_image(api, project):
    images = api.alice.upload(project.id, upload_of("image/png", 1), upload_of("image/tiff", 2)).images
    reply = ok(api.alice.images.DeleteImage, I.DeleteImageRequest(image_id=images[0].id))
    assert reply.freed_bytes == images[0].size_bytes
    expect_error(Code.NOT_FOUND, api.alice.images.GetImage, I.GetImageRequest(image_id=images[0].id), "get deleted image")
    expect_error(Code.NOT_FOUND, api.alice.images.GetImageContent, I.GetImageContentRequest(image_id=images[0].id), "content of deleted")
    expect_error(Code.NOT_FOUND, api.alice.images.DeleteImage, I.DeleteImageRequest(image_id=images[0].id), "delete twice")
    expect_error(Code.INVALID_ARGUMENT, api.alice.images.DeleteImage, I.DeleteImageRequest(image_id="x"))
    stats = api.alice.project_stats(project.id)
    assert (stats.image_count, stats.total_bytes) == (1, images[1].size_bytes), stats


def test_delete_images_batch(api, project):
    images = api.alice.upload(project.id, *[upload_of("image/x-portable-graymap", i) for i in range(5)]).images
    doomed = [images[0].id, images[2].id, images[4].id]
    reply = ok(api.alice.images.DeleteImages, I.DeleteImagesRequest(project_id=project.id, image_ids=doomed + [doomed[0]]))
    assert reply.deleted_count == 3, f"deleted_count {reply.deleted_count} (duplicates are ignored)"
    assert reply.freed_bytes == sum(images[i].size_bytes for i in (0, 2, 4))
    assert not reply.missing_image_ids
    left = ok(api.alice.images.ListImages, I.ListImagesRequest(project_id=project.id))
    assert {i.id for i in left.images} == {images[1].id, images[3].id}
    assert image_count(api, project.id) == 2


def test_delete_images_missing_is_atomic_unless_allowed(api, project):
    images = api.alice.upload(project.id, upload_of("image/png", 1), upload_of("image/png", 2)).images
    missing = random_id()
    expect_error(Code.NOT_FOUND, api.alice.images.DeleteImages,
                 I.DeleteImagesRequest(project_id=project.id, image_ids=[images[0].id, missing]), "batch with a missing id")
    assert image_count(api, project.id) == 2, "a refused batch deleted images"
    reply = ok(api.alice.images.DeleteImages, I.DeleteImagesRequest(
        project_id=project.id, image_ids=[images[0].id, missing], allow_missing=True))
    assert reply.deleted_count == 1 and list(reply.missing_image_ids) == [missing], reply
    again = ok(api.alice.images.DeleteImages, I.DeleteImagesRequest(
        project_id=project.id, image_ids=[images[0].id], allow_missing=True), "idempotent retry")
    assert again.deleted_count == 0 and list(again.missing_image_ids) == [images[0].id]
    assert image_count(api, project.id) == 1


def test_delete_images_of_another_project_is_not_found(api, project):
    other = api.alice.create_project(unique("img-foreign"))
    foreign = api.alice.upload(other.id, upload_of("image/png", 1)).images[0]
    expect_error(Code.NOT_FOUND, api.alice.images.DeleteImages,
                 I.DeleteImagesRequest(project_id=project.id, image_ids=[foreign.id]), "image of another project")
    assert image_count(api, other.id) == 1


def test_delete_images_argument_errors(api, project):
    expect_error(Code.INVALID_ARGUMENT, api.alice.images.DeleteImages, I.DeleteImagesRequest(project_id=project.id), "no ids")
    expect_error(Code.INVALID_ARGUMENT, api.alice.images.DeleteImages,
                 I.DeleteImagesRequest(project_id=project.id, image_ids=["bad"]), "bad id")
    expect_error(Code.INVALID_ARGUMENT, api.alice.images.DeleteImages,
                 I.DeleteImagesRequest(project_id=project.id, image_ids=[random_id() for _ in range(10001)], allow_missing=True),
                 "10001 ids")
    expect_error(Code.NOT_FOUND, api.alice.images.DeleteImages,
                 I.DeleteImagesRequest(project_id=random_id(), image_ids=[random_id()]), "unknown project")


def test_expired_idempotency_keys_are_pruned_and_no_longer_replay(tmp_path):
    """With a 2-second window and housekeeping every 0.5 s: a keyed upload replays within the
    window; after it, housekeeping deletes the key (logged) and the same call stores anew."""
    data = tmp_path / "data"
    token = add_user(data, "kim")
    server = Server(data, ["--idempotency-window", "2", "--maintenance-interval", "0.5"])
    try:
        with grpc.insecure_channel(server.address, options=CHANNEL_OPTIONS + API_OPTIONS) as channel:
            kim = Client(channel, "kim", token)
            project = kim.create_project(unique("keys"))
            request = upload_request(project.id, upload_of("image/png", 7), key="retry-me")
            first = ok(kim.images.UploadImages, request)
            again = ok(kim.images.UploadImages, request)
            assert again.replayed and [i.id for i in again.images] == [i.id for i in first.images]
            line = server.wait_for_log(lambda l: "pruned expired idempotency keys" in l, timeout=15)
            assert line is not None and "count=1" in line, server.log_text()
            later = ok(kim.images.UploadImages, request)
            assert not later.replayed and later.images[0].id != first.images[0].id, "an expired key stores anew"
    finally:
        server.stop()
