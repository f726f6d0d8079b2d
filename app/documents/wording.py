"""What the documents domain's error codes mean on a page (see app/core/wording.py)."""

from __future__ import annotations

from app.core.wording import says

says("document_edited", "The document has already been edited, so its template can no longer change: "
                        "nothing people wrote is thrown away. Edit the sections instead.")
says("retro_completed", "This retro is complete; reopen it to edit its document.")
says("stale_version", "Someone else saved this section while you were editing it. Merge your text into theirs and save again.")
