"""`atalaia viewer`: the desktop window of design note 000, rebuilt so it never freezes.

Note 000 began with a Qt `VideoTab` that froze while frames waited for analysis. Here the UI
thread only paints: every request, stream read, JPEG decode and image scaling runs in worker
threads (`QThread`, or an asyncio loop inside one), results reach widgets through Qt signals,
and a frame the UI has not yet painted is replaced by the next one instead of queued behind it
(`LatestSlot`). Needs the `desktop` extra (PySide6).
"""
