"""A tiny stand-in for the Hugging Face Hub on 127.0.0.1, serving files in the hub's URL layout.

It answers HEAD and GET on ``/<owner>/<repo>/resolve/<revision>/<path>`` with the headers the real
``huggingface_hub`` client reads (ETag, X-Repo-Commit, Content-Length), and counts GETs per file; and the
two API calls ``snapshot_download`` makes: repo info and the recursive file tree.
"""

import hashlib
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    def __init__(self, files: dict[str, bytes]):
        """``files`` maps ``owner/repo/path/in/repo`` to content."""
        self.files = files
        self.gets: Counter[str] = Counter()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _lookup(self):
                parts = self.path.split("?")[0].lstrip("/").split("/", 4)
                if len(parts) < 5 or parts[2] != "resolve":
                    return None, None
                owner, repo, _, _revision, path = parts
                repo_id = f"{owner}/{repo}"
                if not any(k.startswith(repo_id + "/") for k in hub.files):
                    return repo_id, None
                return repo_id, f"{repo_id}/{path}"

            def _answer(self, with_body: bool):
                repo_id, key = self._lookup()
                if key is None or key not in hub.files:
                    code = "RepoNotFound" if repo_id is not None and key is None else "EntryNotFound"
                    self.send_response(404)
                    self.send_header("X-Error-Code", code)
                    self.send_header("X-Error-Message", f"{code}: {self.path}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = hub.files[key]
                self.send_response(200)
                self.send_header("ETag", f'"{hashlib.sha1(body).hexdigest()}"')
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                if with_body:
                    hub.gets[key] += 1
                    self.wfile.write(body)

            def _api(self) -> bool:
                parts = self.path.split("?")[0].strip("/").split("/")
                if len(parts) < 6 or parts[:2] != ["api", "models"]:
                    return False
                repo_id, kind = f"{parts[2]}/{parts[3]}", parts[4]
                files = {k[len(repo_id) + 1 :]: v for k, v in hub.files.items() if k.startswith(repo_id + "/")}
                if kind == "revision":
                    body = {"id": repo_id, "sha": COMMIT, "siblings": [{"rfilename": f} for f in sorted(files)]}
                else:  # tree, recursive
                    body = [
                        {"type": "file", "path": f, "size": len(v), "oid": hashlib.sha1(v).hexdigest()}
                        for f, v in sorted(files.items())
                    ]
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return True

            def do_HEAD(self):
                self._answer(with_body=False)

            def do_GET(self):
                if not self._api():
                    self._answer(with_body=True)

        return Handler
