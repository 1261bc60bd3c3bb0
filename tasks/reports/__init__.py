"""What HR and the boss read: reports computed from storage."""
