"""Downloaded records are served once, to the person who asked, and then forgotten.

Streamlit keeps a download button's file in memory and serves it at `/media/<hash>.pdf` to
anyone, signed in or not, for as long as the session that made it lives; a fetch of that
address runs none of our code, so it is not audited. Our download buttons build their file
on the click (a callable `data=`, run again on every click, so every click is an audit event),
and `serve_downloads_once` makes Streamlit forget the file as soon as the browser has fetched
it. Streamlit's page fetches a new download's address twice (a check that it answers, then the
download itself), so a file is served at most twice and for at most a minute after it was
made; after that its address answers "not found" and the only way to the record again is a
new click, signed in, checked and audited. Streamlit's own clean-up would delete the file
sooner, before the browser fetched it when the server is busy; it waits for the fetches too.

Streamlit 1.67 offers no setting for this: the storage object that serves `/media` is taken
as the server builds it and changed to this subclass in place (tests/browser/
test_record_download.py checks it still works when Streamlit is upgraded).
"""

from __future__ import annotations

import threading
import time
from typing import Final

from streamlit import runtime
from streamlit.runtime.media_file_storage import MediaFileKind, MediaFileStorageError
from streamlit.runtime.memory_media_file_storage import MemoryFile, MemoryMediaFileStorage

FETCHES_ALLOWED: Final = 2
"""Streamlit's page checks a new download's address answers, then downloads it."""
SECONDS_KEPT: Final = 60.0
"""The longest a made file waits for its fetches (a slow network, a fetch that failed)."""


class ServedOnce(MemoryMediaFileStorage):
    """Streamlit's in-memory media storage, forgetting a download once it has been fetched.

    Images and other media drawn on a page are kept as before; only files made for a download
    button (`MediaFileKind.DOWNLOADABLE`) are forgotten."""

    _served_lock: threading.Lock
    _made_at: dict[str, float]
    _fetches: dict[str, int]

    def _start_counting(self) -> None:
        self._served_lock = threading.Lock()
        self._made_at = {}
        self._fetches = {}

    def load_and_get_id(
        self,
        path_or_data: str | bytes,
        mimetype: str,
        kind: MediaFileKind,
        filename: str | None = None,
    ) -> str:
        if kind is not MediaFileKind.DOWNLOADABLE:
            return super().load_and_get_id(path_or_data, mimetype, kind, filename)
        # Under the lock a fetch takes: a new click on an unchanged record makes the same
        # file, and the last fetch of the click before must not forget it between its adding
        # and its counting afresh (the download then failed as it was built).
        with self._served_lock:
            self._forget_expired()
            file_id = super().load_and_get_id(path_or_data, mimetype, kind, filename)
            self._made_at[file_id] = time.monotonic()
            self._fetches[file_id] = 0
        return file_id

    def get_url(self, file_id: str) -> str:
        """The file's address, without counting as a fetch (the manager asks it on a click)."""
        media_file = MemoryMediaFileStorage.get_file(self, file_id)
        return self._address(file_id, media_file)

    def _address(self, file_id: str, media_file: MemoryFile) -> str:
        from streamlit.runtime.memory_media_file_storage import get_extension_for_mimetype

        return f"{self._media_endpoint}/{file_id}{get_extension_for_mimetype(media_file.mimetype)}"

    def get_file(self, filename: str) -> MemoryFile:
        """The file for one fetch of `/media/<filename>`; a download is forgotten once fetched
        as often as the page does, or once too old."""
        with self._served_lock:
            self._forget_expired()
            media_file = super().get_file(filename)
            file_id = filename.rsplit(".", 1)[0]
            if media_file.kind is MediaFileKind.DOWNLOADABLE:
                if file_id not in self._fetches:  # made before serving-once was in place
                    self._forget(file_id)
                    raise MediaFileStorageError(f"Download {file_id} has expired")
                self._fetches[file_id] += 1
                if self._fetches[file_id] >= FETCHES_ALLOWED:
                    self._forget(file_id)
            return media_file

    def delete_file(self, file_id: str) -> None:
        """Streamlit's manager deletes a file made on a click (it belongs to no session) once
        two script runs have finished anywhere on the server: with many people at work, that
        is before the browser has fetched it, and the download fails ("not found"). A download
        still waiting for its fetches is kept until it has them or is too old (`_forget`)."""
        with self._served_lock:
            made = self._made_at.get(file_id)
            if made is not None and time.monotonic() - made <= SECONDS_KEPT:
                return
        MemoryMediaFileStorage.delete_file(self, file_id)

    def _forget(self, file_id: str) -> None:
        self._made_at.pop(file_id, None)
        self._fetches.pop(file_id, None)
        MemoryMediaFileStorage.delete_file(self, file_id)

    def _forget_expired(self) -> None:
        now = time.monotonic()
        for file_id, made in list(self._made_at.items()):
            if now - made > SECONDS_KEPT:
                self._forget(file_id)


_installing = threading.Lock()


def serve_downloads_once() -> bool:
    """Make the running server forget each download once fetched. Idempotent; False when
    there is no server (AppTest, plain Python) or its storage is not Streamlit's own."""
    if not runtime.exists():
        return False
    storage = runtime.get_instance().media_file_mgr._storage
    with _installing:
        if isinstance(storage, ServedOnce):
            return True
        if type(storage) is not MemoryMediaFileStorage:
            return False
        ServedOnce._start_counting(storage)  # type: ignore[arg-type]  # before the class changes
        storage.__class__ = ServedOnce
    return True
