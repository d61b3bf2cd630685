"""The server's file guard: who uploaded each file, and who may fetch a file from gradio's upload folder.

Gradio itself records no uploader and serves every file of its upload folder at `/gradio_api/file=` to
anyone logged in. `FileGuard`, an ASGI middleware in front of gradio's routes, closes both gaps:

* `POST .../upload`: the paths gradio answers with are recorded in `Uploads` with the teacher who sent them
  (read from gradio's login cookie), before the answer leaves - the checked intake (`intake.Uploads.accept`)
  then accepts them from that teacher only;
* `GET/HEAD .../file=<path>` for a path in gradio's upload folder: served only when it is a download of the
  requester's that has not expired (`downloads.Downloads`), an upload of theirs, or a public example file;
  anything else in that folder is "not found". Paths elsewhere are left to gradio's own rules.

`GuardedBlocks` is the page's gr.Blocks: it puts the guard in front of the app at launch, and turns an input
gradio cannot read (a plain string where a file belongs, a FileData naming a file that was not uploaded)
into a message saying what to send, instead of gradio's bare "Error".
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import gradio as gr
from gradio.exceptions import InvalidPathError
from starlette.middleware import Middleware
from starlette.requests import Request

from . import ui_text
from .downloads import Downloads
from .intake import Uploads

log = logging.getLogger("sla.app")


class FileGuard:
    """ASGI middleware; `Middleware(FileGuard, uploads=..., downloads=..., upload_folder=...)`."""

    def __init__(self, app, uploads: Uploads, downloads: Downloads | None, upload_folder: str | Path) -> None:
        self.app, self.uploads, self.downloads = app, uploads, downloads
        self.upload_folder = os.path.realpath(str(upload_folder)) + os.sep

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, method = scope.get("path", ""), scope.get("method", "")
        if method == "POST" and path.rstrip("/").endswith("/upload"):
            return await self._upload(scope, receive, send)
        if method in ("GET", "HEAD") and "/file=" in path:
            wanted = path.split("/file=", 1)[1]
            if not self.may_read(wanted, self._user(scope)):
                return await _not_found(send)
        return await self.app(scope, receive, send)

    def may_read(self, wanted: str, user: str | None) -> bool:
        """Whether `user` may fetch `wanted` (a path as the URL names it) through gradio's file route."""
        if wanted.startswith(("http://", "https://")):
            return True  # gradio's own rules (its SSRF-checked proxy) apply
        real = os.path.realpath(wanted)
        if not (real + os.sep).startswith(self.upload_folder):
            return True  # not in gradio's upload folder: gradio's allowed_paths decide
        if user is None:
            return False  # login on, nobody logged in: gradio refuses too
        if self.downloads is not None and self.downloads.covers(real):
            return self.downloads.may_read(real, user)
        if self.uploads.uploaded(real):
            return self.uploads.owned_by(real, user)
        return self.uploads.is_public(real)

    @staticmethod
    def _user(scope) -> str | None:
        """The login behind the request: "" without login, None when login is on and nobody is logged in."""
        app = scope.get("app")
        if app is None or (getattr(app, "auth", None) is None and getattr(app, "auth_dependency", None) is None):
            return ""
        cookies = Request(scope).cookies
        cookie_id = getattr(app, "cookie_id", "")
        token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
        return getattr(app, "tokens", {}).get(token)

    async def _upload(self, scope, receive, send) -> None:
        """Pass the upload to gradio, record the paths it answers with, then send the answer on."""
        held: list[dict] = []
        status = 0

        async def hold(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            held.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                if status == 200:
                    self._record(b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body"),
                                 self._user(scope))
                for m in held:
                    await send(m)
                held.clear()

        await self.app(scope, receive, hold)

    def _record(self, body: bytes, user: str | None) -> None:
        try:
            paths = json.loads(body)
        except ValueError:
            log.warning("an upload's answer was not a list of paths; its files will be refused")
            return
        if user is not None and isinstance(paths, list):
            self.uploads.record([p for p in paths if isinstance(p, str)], user)


async def _not_found(send) -> None:
    body = ui_text.FILE_NOT_YOURS.encode("utf-8")
    await send({"type": "http.response.start", "status": 404,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


class GuardedBlocks(gr.Blocks):
    """The page's Blocks: the file guard in front of its routes, and readable messages for unreadable inputs."""

    uploads: Uploads
    downloads: Downloads | None = None

    def guard(self, uploads: Uploads, downloads: Downloads | None) -> None:
        """What the guard checks against; the example files gradio copied while building become public."""
        self.uploads, self.downloads = uploads, downloads
        uploads.add_public(f for block in self.blocks.values() for f in getattr(block, "temp_files", ()))

    def launch(self, *args, **kwargs):
        from gradio.utils import get_upload_folder

        app_kwargs = dict(kwargs.pop("app_kwargs", None) or {})
        app_kwargs["middleware"] = [*app_kwargs.get("middleware", ()), Middleware(
            FileGuard, uploads=self.uploads, downloads=self.downloads, upload_folder=get_upload_folder())]
        return super().launch(*args, app_kwargs=app_kwargs, **kwargs)

    async def preprocess_data(self, block_fn, inputs, state, explicit_call=False):
        try:
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        except gr.Error:
            raise
        except InvalidPathError as e:  # a FileData naming a server path that was never uploaded
            log.info("refused a file named by its server path in %s: %s", getattr(block_fn, "name", "?"), e)
            raise gr.Error(ui_text.INPUT_PATH_REFUSED, title=ui_text.INTAKE_TITLE) from e
        except Exception as e:  # noqa: BLE001  gradio's own checks raise many types; all mean "bad input"
            log.info("refused the inputs of %s: %s", getattr(block_fn, "name", "?"), e)
            raise gr.Error(ui_text.INPUT_NOT_READ, title=ui_text.INTAKE_TITLE) from e


__all__ = ["FileGuard", "GuardedBlocks"]
