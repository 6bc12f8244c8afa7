"""Settings of the workers the SIGKILL test starts and kills: the test settings, a slow
agent, a short turn lease, and a broker that hands an unacknowledged task (its worker
died) to another worker after 2 seconds instead of an hour."""

from config.settings_test import *  # noqa: F401,F403

CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 2,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
CHANNELS_TURN_RUNNER = "channels.tests.slow_agent.run_turn"
CHANNELS_TURN_LEASE_SECONDS = 2
CHANNELS_SEND_BACKOFF = 0.1
