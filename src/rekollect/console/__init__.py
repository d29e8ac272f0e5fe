"""The web console: static pages under ``/console`` that call the Rekognition API from the browser.

The pages hold no data and get none from the server except through the API itself (``POST /``
with ``X-Amz-Target``, signed with SigV4 in the browser when the server has credentials), so they
are served without authentication (``app.py``). The one third-party file, ``aws4fetch``'s ES module
(SigV4 with WebCrypto), is put into the models' share dir by ``install.py``.
"""
