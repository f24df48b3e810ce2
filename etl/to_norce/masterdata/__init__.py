"""Master data: diff against the last accepted snapshot, guard removals, apply, approve."""
