"""Face clustering: groups a collection's faces by person (``graph``) in persisted jobs (``jobs``),
and the ``rekollect cluster`` command that reviews and accepts the groups as users (``command``)."""
