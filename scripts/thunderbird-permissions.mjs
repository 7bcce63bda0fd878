// Permission names that exist in Thunderbird but not in Firefox (Thunderbird's WebExtension
// schemas, 128 ESR and later). web-ext lint cannot know them; test/manifest.test.ts checks ours.
export const THUNDERBIRD_PERMISSIONS = [
  'accountsFolders', 'accountsIdentities', 'accountsRead', 'addressBooks', 'compose', 'compose.save',
  'compose.send', 'messagesDelete', 'messagesImport', 'messagesModify', 'messagesModifyPermanent',
  'messagesMove', 'messagesRead', 'messagesTags', 'messagesTagsList', 'sensitiveDataUpload',
];
