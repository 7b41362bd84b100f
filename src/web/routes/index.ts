export { archiveEdition, archiveIndex, feed } from './archive.ts';
export { confirm } from './confirm.ts';
export { guidePageRoute as guidePage } from './guides.ts';
export { health } from './health.ts';
export { home } from './home.ts';
export { preferencesPage, savePreferences } from './preferences.ts';
export { subscribe, subscribeForm } from './subscribe.ts';
export { unsubscribe, unsubscribePage } from './unsubscribe.ts';
export { mailgunWebhook, postmarkWebhook, sesWebhook } from './webhooks.ts';
