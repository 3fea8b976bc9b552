/**
 * Runs `beat` every `interval` ms (`0`: never) on a timer that does not keep
 * the process alive; returns the function that stops it. Both transports
 * beat on one timer per attachment, not one per connection: the `ws` adapter
 * pings its sockets (and terminates those that missed the last ping), the
 * HTTP fallback writes a comment on its open streams.
 */
export function startHeartbeat(interval: number, beat: () => void): () => void {
  if (interval <= 0) return () => {};
  const timer = setInterval(beat, interval);
  timer.unref();
  return () => clearInterval(timer);
}
