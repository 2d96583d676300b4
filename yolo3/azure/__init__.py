"""Azure: Blob uploads (``blob``), sign-in (``signin``), the training job for SDK v2 and
v1 (``job``, built offline) and its submission (``submit``)."""
