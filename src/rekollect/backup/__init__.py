"""Backup and restore of one collection: ``rekollect collection export`` / ``import`` (docs/backup-format.md)."""
