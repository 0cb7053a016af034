from django.core.cache import cache

from .models import IngestKey


def ingest_key_get(*, secret: str) -> IngestKey | None:
    """Return the active key with this secret; answers are cached for a minute."""
    if not secret or len(secret) > 100:
        return None
    digest = IngestKey.hash(secret)
    cache_key = f"analytics:ingest-key:{digest}"
    key_id = cache.get(cache_key)
    if key_id is None:
        key = IngestKey.objects.filter(key_hash=digest, is_active=True).first()
        cache.set(cache_key, key.pk if key else 0, timeout=60)
        return key
    return IngestKey(pk=key_id, key_hash=digest) if key_id else None
