"""Command-line tools that are clients of the Rekognition API (boto3): ``rekollect index``,
``search``, ``compare``, ``detect``, ``cluster`` (Rekollect's extension) and ``paths``.

They speak only the public API, so they work against Rekollect or Amazon Rekognition alike;
nothing here imports the server's face code.
"""

COMMANDS = ("index", "search", "compare", "detect", "cluster", "paths")
