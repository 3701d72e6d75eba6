"""The download helper against a local HTTP server on 127.0.0.1, and the source registry."""

from __future__ import annotations

import hashlib
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from attrpriors.data.download import (
    REGISTRY,
    ChecksumError,
    DownloadError,
    UnverifiedChecksumWarning,
    download,
    local_path,
    registry_table,
    resolve,
)

PAYLOAD = b"gene\tvalue\n" + b"".join(f"G{i}\t{i * 0.5}\n".encode() for i in range(50_000))
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    hits: dict[str, int] = {}

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):  # noqa: N802 - http.server API
        _Handler.hits[self.path] = _Handler.hits.get(self.path, 0) + 1
        if self.path == "/good.tsv":
            self._send(PAYLOAD)
        elif self.path == "/slow.tsv":
            time.sleep(1.5)  # longer than the client's timeout
            self._send(PAYLOAD)
        elif self.path == "/flaky.tsv" and _Handler.hits[self.path] == 1:
            self.send_error(503, "try again")
        elif self.path == "/flaky.tsv":
            self._send(PAYLOAD)
        else:
            self.send_error(404, "not here")

    def _send(self, body: bytes):
        self.send_response(200)
        self.send_header("Content-Type", "text/tab-separated-values")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    _Handler.hits.clear()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_good_file_with_checksum(server, tmp_path):
    dest = tmp_path / "raw" / "good.tsv"
    out = download(f"{server}/good.tsv", dest, sha256=PAYLOAD_SHA, retries=1, timeout=5)
    assert out == dest and dest.read_bytes() == PAYLOAD
    assert (tmp_path / "raw" / "good.tsv.sha256").read_text().split()[0] == PAYLOAD_SHA
    assert sorted(p.name for p in dest.parent.iterdir()) == ["good.tsv", "good.tsv.sha256"]
    # a verified file already in place is not fetched again
    download(f"{server}/good.tsv", dest, sha256=PAYLOAD_SHA, retries=1, timeout=5)
    assert _Handler.hits["/good.tsv"] == 1


def test_unknown_checksum_is_computed_recorded_and_warned(server, tmp_path, capsys):
    dest = tmp_path / "good.tsv"
    with pytest.warns(UnverifiedChecksumWarning, match="UNVERIFIED"):
        download(f"{server}/good.tsv", dest, retries=1, timeout=5)
    assert dest.read_bytes() == PAYLOAD
    assert PAYLOAD_SHA in (tmp_path / "good.tsv.sha256").read_text()
    assert "WARNING" in capsys.readouterr().err


def test_checksum_mismatch_leaves_no_file(server, tmp_path):
    dest = tmp_path / "good.tsv"
    with pytest.raises(ChecksumError, match=re.escape(f"{server}/good.tsv")):
        download(f"{server}/good.tsv", dest, sha256="0" * 64, retries=3, timeout=5)
    assert list(tmp_path.iterdir()) == []  # neither the file nor a temporary
    assert _Handler.hits["/good.tsv"] == 1  # a mismatch is not retried
    with pytest.raises(ChecksumError, match="expected md5"):
        download(f"{server}/good.tsv", dest, md5="0" * 32, retries=1, timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_404_names_the_url_and_is_not_retried(server, tmp_path):
    url = f"{server}/missing.tsv"
    with pytest.raises(DownloadError, match=re.escape(url) + ".*HTTP 404.*source: simulated"):
        download(url, tmp_path / "x.tsv", retries=3, timeout=5, backoff=0)
    assert _Handler.hits["/missing.tsv"] == 1
    assert list(tmp_path.iterdir()) == []


def test_slow_server_times_out_after_retries(server, tmp_path):
    url = f"{server}/slow.tsv"
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match=re.escape(url) + ".*after 2 attempt"):
        download(url, tmp_path / "slow.tsv", retries=2, timeout=0.3, backoff=0)
    assert time.monotonic() - t0 < 5
    assert _Handler.hits["/slow.tsv"] == 2
    assert list(tmp_path.iterdir()) == []


def test_transient_server_error_is_retried(server, tmp_path):
    out = download(f"{server}/flaky.tsv", tmp_path / "flaky.tsv", sha256=PAYLOAD_SHA, retries=3, timeout=5, backoff=0)
    assert out.read_bytes() == PAYLOAD and _Handler.hits["/flaky.tsv"] == 2


def test_unreachable_host_error_tells_how_to_run_offline(tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}/data.tsv"
    with pytest.raises(DownloadError) as err:
        download(url, tmp_path / "data.tsv", retries=2, timeout=1, backoff=0)
    msg = str(err.value)
    assert url in msg and "source: simulated" in msg and "config.yaml" in msg
    assert list(tmp_path.iterdir()) == []


def test_directory_destination_uses_registry_filename(server, tmp_path, monkeypatch):
    monkeypatch.setitem(
        REGISTRY, "test_entry", {"url": f"{server}/good.tsv", "sha256": PAYLOAD_SHA, "filename": "named.tsv"}
    )
    out = download("test_entry", tmp_path, retries=1, timeout=5)
    assert out == tmp_path / "named.tsv" and out.read_bytes() == PAYLOAD


def test_registry_covers_the_paper_sources():
    names = set(REGISTRY)
    for needed in (
        "beataml_expression",
        "beataml_drug_response",
        "humanbase_hematopoietic",
        "nhanes_i_X",
        "nhanes_i_y",
        "mnist_train_images",
        "enrichr_kegg_2019_human",
        "tcga_pancan_expression",
        "majdandzic_atac",
        "merge_features",
    ):
        assert needed in names
    for name, entry in REGISTRY.items():
        assert entry["url"].startswith("https://"), name
        assert "sha256" in entry, name
        assert entry["sha256"] is None or re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]), name
        assert entry.get("md5") is None or re.fullmatch(r"[0-9a-f]{32}", entry["md5"]), name
        assert entry.get("filename"), name
    assert "7186054" in REGISTRY["majdandzic_atac"]["url"]
    assert "KEGG_2019_Human" in REGISTRY["enrichr_kegg_2019_human"]["url"]
    assert len(registry_table()) == len(REGISTRY)
    with pytest.raises(KeyError, match="unknown data source 'nope'"):
        resolve("nope")


def test_local_path_for_controlled_access_data(tmp_path):
    with pytest.raises(FileNotFoundError, match="config key `datasets.amp_ad.path` is not set"):
        local_path(None, "datasets.amp_ad.path", "AMP-AD expression")
    missing = tmp_path / "amp_ad.tsv"
    with pytest.raises(FileNotFoundError, match=re.escape(f"{missing}") + ".*`datasets.amp_ad.path`"):
        local_path(missing, "datasets.amp_ad.path")
    missing.write_text("x")
    assert local_path(str(missing), "datasets.amp_ad.path") == missing
