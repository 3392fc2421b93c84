// Tax (active participants), sized for a phone: the person's tax number (INN), checked
// here by its check digits before it is sent (`setMyTaxId`; the server checks it
// again, its refusal under the field), and their certificate of income for a year
// (`getMyTaxCertificate`): income, tax and what was withheld by month, the totals and
// what could not be withheld, printable on its own.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { form } from '../components/form.js';
import { notify } from '../components/toast.js';
import { checkTaxId, certificateCard } from '../components/tax.js';

export function mount(root) {
  const onFile = h('p', { class: 'muted', 'data-testid': 'tax-id-current', 'aria-live': 'polite' });
  let filled = false;

  const showTaxId = (taxId) => replace(onFile, taxId ? t('taxMe.innOnFile', { inn: taxId }) : t('taxMe.innNone'));

  const f = form({
    className: 'tax-id-form',
    fields: [
      {
        name: 'tax_id',
        label: t('taxMe.inn'),
        required: true,
        hint: t('taxMe.innHint'),
        autocomplete: 'off',
        attrs: { inputmode: 'numeric', maxlength: 16, spellcheck: 'false' },
      },
    ],
    submit: t('taxMe.innSave'),
    validate: (v) => {
      const { error } = checkTaxId(v.tax_id);
      return error ? [{ field: 'tax_id', message: error }] : [];
    },
    onSubmit: (v) => api('/me/tax-id', { method: 'PUT', body: { tax_id: checkTaxId(v.tax_id).tax_id } }),
    onSuccess: (saved) => {
      f.setValue('tax_id', saved.tax_id);
      showTaxId(saved.tax_id);
      notify(t('taxMe.innSaved'), 'success');
      certificate.reload();
    },
  });
  f.el.dataset.testid = 'tax-id-form';

  const certificate = certificateCard({
    path: '/me/tax-certificate',
    intro: t('taxMe.certIntro'),
    onLoad: (cert) => {
      showTaxId(cert.tax_id);
      // The number on file fills the field once, unless the person has started typing.
      if (!filled && cert.tax_id && !f.input('tax_id').value) f.setValue('tax_id', cert.tax_id);
      filled = true;
    },
  });

  root.append(
    h('h1', { class: 'no-print' }, t('taxMe.title')),
    h('p', { class: 'muted no-print' }, t('taxMe.intro')),
    h('section', { class: 'card no-print', 'data-testid': 'tax-id' }, h('h2', null, t('taxMe.innTitle')), onFile, f.el),
    certificate.el,
  );
  certificate.reload();

  return () => certificate.abort();
}
