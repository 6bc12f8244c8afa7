"""GET /health reports the database, Redis and the workers."""

from config.health import CHECKS


def test_health_is_200_when_database_redis_and_a_worker_answer(client, celery_worker, db):
    response = client.get("/health", HTTP_HOST="localhost")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok" and body["checks"]["redis"] == "ok"
    assert body["checks"]["worker"].startswith("ok")


def test_health_is_503_naming_the_failed_part(client, db, monkeypatch, settings):
    # Point the Redis check at a port where nothing listens: a real refused connection.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    monkeypatch.setitem(CHECKS, "worker", lambda: "ok (skipped in this test)")
    response = client.get("/health", HTTP_HOST="store-a.localhost")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"].startswith("error: ConnectionError")
    assert body["checks"]["database"] == "ok"
