"""The realtime hub: the widget and agent websockets, fan-out, presence and resume."""
