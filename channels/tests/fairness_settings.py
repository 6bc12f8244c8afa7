"""Settings of the workers the fairness test starts: the test settings, an agent that
thinks 0.1 s, two turns per store at a time, and agent turns on the test's own queue."""

from config.settings_test import *  # noqa: F403

CHANNELS_TURN_RUNNER = "channels.tests.slow_agent.run_brief_turn"
CHANNELS_TURN_QUEUE = "channels_fairness_test"
CHANNELS_MAX_TURNS_PER_STORE = 2
CHANNELS_REPLY_SPACING_SECONDS = 0
