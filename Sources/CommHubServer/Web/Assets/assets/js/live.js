// One WebSocket to /api/events for the whole app. The session cookie
// authenticates it. After a drop it reconnects with ?since=<last seq>, so
// nothing is missed; a {"type":"resync","reload":true} frame (the client
// fell too far behind) makes the app reload its lists through the API.

const listeners = new Set();
let socket = null;
let lastSeq = null;
let retryMs = 500;
let stopped = false;
let state = 'connecting';
const stateListeners = new Set();

export function onEvent(fn) { listeners.add(fn); return () => listeners.delete(fn); }
export function onState(fn) { stateListeners.add(fn); fn(state); return () => stateListeners.delete(fn); }
function setState(s) { state = s; for (const fn of stateListeners) fn(s); }

export function connect() {
  stopped = false;
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = `${proto}//${location.host}/api/events${lastSeq !== null ? `?since=${lastSeq}` : ''}`;
  socket = new WebSocket(url);
  socket.addEventListener('open', () => { retryMs = 500; setState('live'); });
  socket.addEventListener('message', (m) => {
    let frame;
    try { frame = JSON.parse(m.data); } catch { return; }
    if (frame.type === 'hello') {
      const resumed = lastSeq !== null;
      lastSeq = frame.seq;
      if (resumed) emit({ type: 'resumed', seq: frame.seq });
      return;
    }
    if (typeof frame.seq === 'number') lastSeq = Math.max(lastSeq ?? 0, frame.seq);
    if (frame.type === 'resync') { emit({ type: 'reload', reason: frame.reason }); return; }
    if (frame.error) return;
    emit(frame);
  });
  socket.addEventListener('close', () => {
    socket = null;
    if (stopped) return;
    setState('offline');
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 15000);
  });
}

export function disconnect() { stopped = true; socket?.close(); socket = null; lastSeq = null; }

function emit(frame) { for (const fn of listeners) { try { fn(frame); } catch (e) { console.error(e); } } }
