"""Stream processors: live cameras searched against a collection in real time (Rekognition's
CreateStreamProcessor … with ``Settings.FaceSearch``).

``sources`` maps each Kinesis video stream ARN to an RTSP, HTTP or file URL (``--stream-sources``);
``camera`` reads it with PyAV (reconnecting, sampling, Kinesis Video timing); ``regions`` applies
``RegionsOfInterest``; ``session`` runs one session of a processor (search, records, status);
``outputs`` sends the records to Kinesis, S3 and a webhook; ``processors`` holds the status rules
and runs the sessions as leased jobs of the shared job queue.
"""
