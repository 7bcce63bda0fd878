import { localizePage, t } from '../ui/i18n';

const form = document.getElementById('options') as HTMLFormElement;
const directoryUrl = document.getElementById('directory-url') as HTMLInputElement;
const saved = document.getElementById('saved') as HTMLParagraphElement;

async function load(): Promise<void> {
  const stored = await messenger.storage.local.get('directoryUrl');
  const value: unknown = stored['directoryUrl'];
  if (typeof value === 'string') directoryUrl.value = value;
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void messenger.storage.local.set({ directoryUrl: directoryUrl.value }).then(() => {
    saved.textContent = t('optionsSaved');
  });
});

localizePage();
void load();
