// CommHub's service worker: shows Web Push notifications (urgent threads,
// mentions, deadline alerts, reminders) and opens the app where a click
// leads. It caches nothing: the inbox must always be the live one.
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let note = { title: 'CommHub', body: '', url: '/', tag: 'commhub', urgent: false };
  try { note = { ...note, ...event.data.json() }; } catch { /* a push without JSON shows the default */ }
  event.waitUntil(self.registration.showNotification(note.title, {
    body: note.body, tag: note.tag, data: { url: note.url }, icon: '/assets/icon.svg',
    requireInteraction: !!note.urgent, renotify: !!note.urgent,
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url || '/', self.location.origin).href;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const w of windows) {
      if (new URL(w.url).origin === self.location.origin) { await w.focus(); return w.navigate(url); }
    }
    return self.clients.openWindow(url);
  })());
});
