// The program as tax agent (staff with program-wide `points.view`): the tax rule in
// plain words (`getTaxRule`) and, with `program.edit`, the rule form: the switch, when
// income arises (when points are credited or when they are redeemed), who bears the
// tax (the participant: withheld from their points; the organiser: paid on top,
// grossed up), the yearly tax-free amount and the scale as rows "from amount — rate
// %", with presets that fill it. The form is checked here as the server checks it
// (`updateTaxRule`); the server's own refusal goes under the field it is about. A
// changed rule applies to taxable events from then on; the year's running totals carry
// over, and the page says so next to the form. With `reports.view`, the yearly report
// for the tax office (`getTaxReport`) as CSV or Excel.

import { h, replace } from '../dom.js';
import { t, locale } from '../i18n.js';
import { api } from '../api.js';
import { can } from '../session.js';
import { points } from '../format.js';
import { form } from '../components/form.js';
import { download } from '../components/download.js';
import { problemBox } from '../components/problem.js';
import { notify } from '../components/toast.js';
import {
  MOMENTS,
  BEARERS,
  PRESETS,
  PRESET_LABELS,
  MOMENT_LABELS,
  BEARER_LABELS,
  checkTaxForm,
  describeTaxRule,
  taxValues,
  taxRuleField,
  scaleEditor,
  percent,
  yearOptions,
} from '../components/tax.js';

function fact(label, value, testid) {
  return h('div', null, h('dt', null, label), h('dd', { 'data-testid': testid }, value));
}

/** The rule's settings one by one, under its explanation. */
function ruleFacts(rule) {
  const scale = (rule.scale ?? [])
    .map((s) => t('tax.scaleStep', { from: points(s.above), rate: percent(s.rate) }))
    .join('; ');
  return h(
    'dl',
    { class: 'facts' },
    fact(t('tax.status'), rule.enabled ? t('tax.on') : t('tax.off'), 'tax-status'),
    fact(t('tax.moment'), MOMENT_LABELS[rule.moment]?.() ?? rule.moment),
    fact(t('tax.bearer'), BEARER_LABELS[rule.bearer]?.() ?? rule.bearer),
    fact(t('tax.exemption'), points(rule.exemption)),
    fact(t('tax.scale'), scale),
  );
}

export function mount(root) {
  const editor = can('program.edit');
  let stopped = false;
  let current = null;

  const summary = h('div', { class: 'tax-rule', 'data-testid': 'tax-current', 'aria-live': 'polite' });
  const ruleBody = h('div', null, h('p', { class: 'muted' }, t('common.loading')));

  function showRule(rule) {
    current = rule;
    replace(
      summary,
      h('p', { class: 'tax-rule-text', 'data-enabled': String(Boolean(rule.enabled)) }, describeTaxRule(rule)),
      ruleFacts(rule),
    );
  }

  async function load() {
    replace(ruleBody, h('p', { class: 'muted' }, t('common.loading')));
    try {
      const rule = await api('/tax/rule');
      if (stopped) return;
      showRule(rule);
      replace(ruleBody, summary, editor ? ruleForm() : null);
    } catch (error) {
      if (stopped) return;
      replace(
        ruleBody,
        problemBox(error),
        h('button', { type: 'button', class: 'secondary', onclick: load }, t('common.retry')),
      );
    }
  }

  function ruleForm() {
    const initial = taxValues(current);
    const scale = scaleEditor(initial.scale);
    const preview = h('p', { class: 'muted', 'data-testid': 'tax-preview', 'aria-live': 'polite' });
    const f = form({
      className: 'tax-form',
      fields: [
        {
          name: 'enabled',
          label: t('tax.enabled'),
          type: 'checkbox',
          value: initial.enabled,
          hint: t('tax.enabledHint'),
          attrs: { role: 'switch' },
        },
        {
          name: 'moment',
          label: t('tax.moment'),
          type: 'select',
          value: initial.moment,
          options: MOMENTS.map((m) => ({ value: m, label: MOMENT_LABELS[m]() })),
        },
        {
          name: 'bearer',
          label: t('tax.bearer'),
          type: 'select',
          value: initial.bearer,
          options: BEARERS.map((b) => ({ value: b, label: BEARER_LABELS[b]() })),
        },
        {
          name: 'exemption',
          label: t('tax.exemption'),
          value: initial.exemption,
          hint: t('tax.exemptionHint'),
          attrs: { inputmode: 'decimal', autocomplete: 'off' },
        },
        { name: 'scale', label: t('tax.scale'), type: 'custom', control: scale, hint: t('tax.scaleHint') },
      ],
      submit: t('common.save'),
      validate: (v) => {
        // A step's errors go under its row; the field itself says to look there.
        const all = checkTaxForm(v).errors;
        const errors = scale.showErrors(all);
        return errors.length < all.length ? errors.concat({ field: 'scale', message: t('tax.scaleFix') }) : errors;
      },
      onSubmit: async (v) => {
        const { rule } = checkTaxForm(v);
        try {
          return await api('/tax/rule', { method: 'PUT', body: rule });
        } catch (error) {
          // The server names the whole rule: its message goes under the field it is about.
          error.errors = (error.errors ?? []).map((e) =>
            e.field === 'rule' ? { ...e, field: taxRuleField(e.message) } : e,
          );
          throw error;
        }
      },
      onSuccess: (rule) => {
        showRule(rule);
        notify(t('tax.saved'), 'success');
      },
    });
    f.el.dataset.testid = 'tax-form';

    // The rule as typed, in words.
    const sync = () => {
      const { rule, errors } = checkTaxForm(f.values());
      replace(preview, errors.length ? t('tax.previewFix') : t('tax.preview', { rule: describeTaxRule(rule) }));
    };
    f.el.addEventListener('input', sync);
    f.el.addEventListener('change', sync);
    sync();
    f.el.querySelector('.form-alert').before(preview);

    // A preset fills the whole rule but the switch.
    const fill = (name) => {
      const preset = PRESETS[name];
      f.setValue('moment', preset.moment);
      f.setValue('bearer', preset.bearer);
      f.setValue('exemption', taxValues(preset).exemption);
      scale.set(preset.scale);
      scale.showErrors([]);
      f.clearProblem();
      sync();
    };
    const presets = h(
      'div',
      { class: 'tax-presets' },
      h('p', { class: 'hint' }, t('tax.presetsHint')),
      h(
        'div',
        { class: 'actions' },
        Object.keys(PRESETS).map((name) =>
          h(
            'button',
            { type: 'button', class: 'secondary small', 'data-preset': name, onclick: () => fill(name) },
            PRESET_LABELS[name](),
          ),
        ),
      ),
    );

    return h(
      'div',
      { class: 'tax-change' },
      h('h3', null, t('tax.change')),
      h('p', { class: 'notice', 'data-testid': 'tax-new-only' }, t('tax.newOnly')),
      presets,
      f.el,
    );
  }

  // --- the yearly report ---
  function reportSection() {
    const status = h('p', { class: 'muted', 'aria-live': 'polite', 'data-testid': 'tax-report-status' });
    const year = h(
      'select',
      { id: 'tax-report-year', name: 'year' },
      yearOptions().map((y) => h('option', { value: String(y) }, String(y))),
    );
    const buttons = [];
    async function get(format) {
      const name = `tax-${year.value}.${format}`;
      for (const b of buttons) b.disabled = true;
      replace(status, t('reports.preparing'));
      try {
        await download('/reports/tax', name, { year: year.value, format, lang: locale === 'ru' ? 'ru' : 'en' });
        replace(status, t('reports.saved', { name }));
        notify(t('reports.saved', { name }), 'success');
      } catch (error) {
        replace(status, problemBox(error));
      } finally {
        for (const b of buttons) b.disabled = false;
      }
    }
    buttons.push(
      h('button', { type: 'button', 'data-action': 'tax-csv', onclick: () => get('csv') }, t('tax.downloadCsv')),
      h(
        'button',
        { type: 'button', class: 'secondary', 'data-action': 'tax-xlsx', onclick: () => get('xlsx') },
        t('tax.downloadXlsx'),
      ),
    );
    return h(
      'section',
      { class: 'card', 'data-testid': 'tax-report' },
      h('h2', null, t('tax.reportTitle')),
      h('p', { class: 'muted' }, t('tax.reportIntro')),
      h(
        'div',
        { class: 'tax-report-form' },
        h('div', { class: 'field' }, h('label', { for: 'tax-report-year' }, t('tax.cert.year')), year),
        h('div', { class: 'actions' }, buttons),
      ),
      status,
    );
  }

  root.append(
    h('h1', null, t('tax.title')),
    h('p', { class: 'muted' }, t('tax.intro')),
    h('section', { class: 'card', 'data-testid': 'tax-rule' }, h('h2', null, t('tax.ruleTitle')), ruleBody),
    can('reports.view') ? reportSection() : null,
  );
  load();

  return () => {
    stopped = true;
  };
}
