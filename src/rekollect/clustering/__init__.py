"""Face clustering: groups a collection's faces by person (``graph``) in persisted jobs (``jobs``); the
``rekollect cluster`` command that reviews and accepts the groups as users is a client tool
(``tools/cluster.py``)."""
