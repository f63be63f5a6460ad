package presence

// The sequence of an extension orders all its events, the switch's and the
// presence changes its user makes: consumers that keep the largest
// (seeds/001 "Call States") take the latest. It is at least the time in
// milliseconds since 1970, so sequences keep growing across restarts.

// floor is the time-based lowest sequence.
func (k *Keeper) floor() uint64 { return uint64(max(k.now().UnixMilli(), 1)) }

// nextLocked returns the extension's next sequence.
func (k *Keeper) nextLocked(ext int64) uint64 {
	next := max(k.seq[ext]+1, k.floor())
	k.seq[ext] = next
	return next
}

// currentLocked returns the extension's last sequence, or the floor when it
// has none yet, which later ones then exceed.
func (k *Keeper) currentLocked(ext int64) uint64 {
	cur := k.seq[ext]
	if cur == 0 {
		cur = k.floor()
		k.seq[ext] = cur
	}
	return cur
}
