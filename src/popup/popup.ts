import { localizePage, t } from '../ui/i18n';

async function listIdentities(): Promise<void> {
  const select = document.getElementById('identity-select') as HTMLSelectElement;
  const status = document.getElementById('status') as HTMLParagraphElement;
  const accounts = await messenger.accounts.list();
  for (const account of accounts) {
    for (const identity of account.identities) {
      const option = document.createElement('option');
      option.value = identity.id ?? '';
      option.textContent = identity.email ?? '';
      select.append(option);
    }
  }
  status.textContent = select.options.length === 0 ? t('popupNoIdentities') : '';
}

localizePage();
void listIdentities();
