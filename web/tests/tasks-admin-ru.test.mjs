// The Russian texts of the staff pieces of tasks and quests (components/task-admin.js),
// run with `node --test`: limits, specs, quests and the trust settings in words with the
// right plural forms (1 выполнение, 2 выполнения, 5 выполнений), amounts with a decimal
// comma, and the server's errors named by question and line. A process of its own:
// modules read their language once.

import test from 'node:test';
import assert from 'node:assert/strict';

globalThis.location = { search: '?lang=ru' };
globalThis.localStorage = { getItem: () => null };
globalThis.navigator = { languages: ['ru-RU'] };
globalThis.document = { documentElement: {} };

const { locale } = await import('../app/i18n.js');
const {
  kindLabel,
  describeSchedule,
  describeLimits,
  describeAudience,
  describeSpec,
  describeQuest,
  describeTrust,
  taskBody,
  taskValues,
  taskFieldErrors,
  answerLines,
} = await import('../app/components/task-admin.js');

test('the page is Russian', () => {
  assert.equal(locale, 'ru');
  assert.equal(kindLabel('stock_check'), 'Проверка остатков');
});

test('limits take the Russian plural forms', () => {
  assert.equal(
    describeLimits({ max_completions: 1, max_attempts: 3, recurrence: 'daily' }),
    '1 выполнение в день · 3 попытки',
  );
  assert.equal(describeLimits({ max_completions: 5, max_attempts: 5, recurrence: 'none' }), '5 выполнений · 5 попыток');
  assert.equal(
    describeLimits({ max_completions: 21, max_attempts: 1, recurrence: 'weekly' }),
    '21 выполнение в неделю · 1 попытка',
  );
  assert.equal(
    describeLimits({ max_completions: 2, max_attempts: null, recurrence: 'none' }),
    '2 выполнения · попытки без ограничения',
  );
});

test('a schedule, an audience and a spec read in Russian', () => {
  const format = (ms) => new Date(ms).toISOString().slice(0, 10);
  assert.equal(describeSchedule({ recurrence: 'none' }), 'Однократно, без дат');
  assert.equal(
    describeSchedule({ recurrence: 'daily', starts_at: Date.parse('2026-03-01T12:00:00Z') }, { format }),
    'Каждый день, с 2026-03-01',
  );
  assert.equal(describeAudience({}), 'Для всех');
  assert.equal(describeAudience({ roles: ['seller'], levels: [2] }), 'Уровни: #2 · Роли: Продавец');
  assert.equal(
    describeSpec({ kind: 'quiz', pass_mark: 2, questions: [{}, {}, {}] }),
    '3 вопроса, для зачёта верных: 2',
  );
  assert.equal(
    describeSpec({ kind: 'self_audit', min_photos: 2, checklist: ['a', 'b', 'c', 'd', 'e'] }),
    'не меньше 2 фото · 5 пунктов',
  );
  assert.equal(describeSpec({ kind: 'sales_plan', target_amount: '1500.00' }), 'Баллов за продажи: 1\u202f500,00');
});

test('quests and trust read in Russian', () => {
  assert.equal(describeQuest({ kind: 'chain', task_ids: [1, 2] }), '2 задания по порядку');
  assert.equal(describeQuest({ kind: 'set', task_ids: [1, 2, 3, 4, 5] }), '5 заданий в любом порядке');
  assert.equal(
    describeQuest({ kind: 'streak', task_ids: [1], streak_length: 7, streak_unit: 'day' }),
    '7 дней подряд, засчитывается любое из заданий (1 задание)',
  );
  assert.equal(
    describeQuest({ kind: 'streak', task_ids: [1, 2], streak_length: 3, streak_unit: 'week' }),
    '3 недели подряд, засчитывается любое из заданий (2 задания)',
  );
  assert.equal(
    describeTrust({ enabled: false }),
    'Выключено: каждое выполнение, которому нужна проверка, проверяет модератор.',
  );
  assert.equal(
    describeTrust({ enabled: true, threshold: 90, min_decisions: 20, max_points: '50.00', spot_check_percent: 10 }),
    'Включено: выполнение принимается сразу, если задание стоит не больше 50,00 базовых баллов, у продавца решений модератора не меньше 20, а доверие не ниже 90 %; 10 % таких выполнений всё равно проверяет модератор.',
  );
});

test('the editor’s checks and the server’s errors are named in Russian', () => {
  const { errors } = taskBody({ ...taskValues(null), kind: 'stock_check', title: 'Т', points: '0' });
  assert.deepEqual(errors, [
    { field: 'points', message: 'Баллы больше 0, не больше двух знаков после запятой, например 25,00' },
  ]);
  // Points typed with a decimal comma are sent with a point.
  assert.equal(taskBody({ ...taskValues(null), kind: 'stock_check', title: 'Т', points: '12,5' }).body.points, '12.50');
  assert.deepEqual(
    taskFieldErrors(
      [
        { field: 'spec.questions[0].options[1]', message: 'must not be empty' },
        { field: 'spec.products[3]', message: 'at most 500 characters' },
      ],
      'price_report',
    ),
    [
      { field: 'spec.price_report.questions', message: 'Вопрос 1, вариант 2: must not be empty' },
      { field: 'spec.price_report.products', message: 'Строка 4: at most 500 characters' },
    ],
  );
  assert.deepEqual(answerLines({ prices: [{ product: 'Смеситель', price: null }] }), ['Смеситель: нет на полке']);
});
