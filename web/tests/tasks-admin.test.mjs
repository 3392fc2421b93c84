// Unit tests of the staff pieces of tasks and quests (components/task-admin.js), in
// English, run with `node --test`: a task's body built from the editor's values for each
// of the eight kinds (and back: a stored task fills the editor), the editor's checks,
// the server's field errors under the editor's fields, a schedule, limits, an audience
// and a spec in words, a submission's answers as lines, a quest's body and words, and
// the trust settings. The Russian texts are in tasks-admin-ru.test.mjs (a module reads
// its language once). The modules read the browser's language, so the few globals they
// touch are stubbed.

import test from 'node:test';
import assert from 'node:assert/strict';

globalThis.location = { search: '' };
globalThis.localStorage = { getItem: () => null };
globalThis.navigator = { languages: ['en-US'] };
globalThis.document = { documentElement: {} };

const {
  KINDS,
  MODERATION,
  taskBody,
  taskValues,
  taskFieldErrors,
  questionMarks,
  describeSchedule,
  describeWindow,
  describeLimits,
  describeAudience,
  describeSpec,
  answerLines,
  questBody,
  questValues,
  describeQuest,
  describeQuestSchedule,
  checkTrustForm,
  trustValues,
  describeTrust,
  idList,
  lines,
  toLocalInput,
  fromLocalInput,
} = await import('../app/components/task-admin.js');

/** The editor's values of a new task of `kind`, with `more` typed in. */
function typed(kind, more = {}) {
  return { ...taskValues(null), kind, title: 'Check the shelf', points: '25.00', ...more };
}
const fields = (result) => result.errors.map((e) => e.field);

test('the eight kinds and whether a moderator checks them', () => {
  assert.equal(KINDS.length, 8);
  assert.deepEqual(
    KINDS.filter((k) => MODERATION[k].mode === 'required'),
    ['shelf_photo', 'self_audit'],
  );
  assert.deepEqual(
    KINDS.filter((k) => MODERATION[k].mode === 'never'),
    ['quiz', 'sales_plan'],
  );
  assert.equal(MODERATION.price_report.default, true);
  assert.equal(MODERATION.stock_check.default, false);
});

test('a stock check becomes the body createTask takes', () => {
  const { body, errors } = taskBody(
    typed('stock_check', {
      'spec.stock_check.product': '  AquaLine mixer 40 mm ',
      'spec.stock_check.product_id': '7',
      requires_moderation: false,
      recurrence: 'weekly',
      max_completions: '2',
      max_attempts: '',
      'audience.regions': [1, 2],
      'audience.stores': '3, 5 5',
      'audience.levels': [0],
      'audience.roles': ['seller'],
    }),
  );
  assert.deepEqual(errors, []);
  assert.deepEqual(body, {
    title: 'Check the shelf',
    description: '',
    spec: { kind: 'stock_check', product: 'AquaLine mixer 40 mm', product_id: 7 },
    audience: { regions: [1, 2], stores: [3, 5], levels: [0], roles: ['seller'] },
    starts_at: null,
    ends_at: null,
    recurrence: 'weekly',
    points: '25.00',
    max_completions: 2,
    max_attempts: null,
    requires_moderation: false,
    active: true,
    brand_id: null,
  });
  // Without a product any code counts.
  assert.deepEqual(taskBody(typed('stock_check')).body.spec, { kind: 'stock_check', product: null, product_id: null });
});

test('each kind sends its own spec', () => {
  const spec = (kind, more) => taskBody(typed(kind, more)).body?.spec;
  assert.deepEqual(
    spec('shelf_photo', {
      'spec.shelf_photo.min_photos': '2',
      'spec.shelf_photo.checklist': 'Eye level\n\n  Price tags \n',
    }),
    { kind: 'shelf_photo', min_photos: 2, checklist: ['Eye level', 'Price tags'] },
  );
  assert.deepEqual(spec('self_audit', { 'spec.self_audit.checklist': 'Clean shelf' }), {
    kind: 'self_audit',
    min_photos: 1,
    checklist: ['Clean shelf'],
  });
  assert.deepEqual(spec('price_report', { 'spec.price_report.products': 'Rival mixer\nRival siphon' }), {
    kind: 'price_report',
    products: ['Rival mixer', 'Rival siphon'],
  });
  assert.deepEqual(
    spec('quiz', {
      'spec.quiz.questions': [
        { text: ' Thread? ', options: ['1/2"', '3/4"'], correct: [0] },
        { text: 'Products?', options: ['Mixers', 'Drills', 'Siphons'], correct: [2, 0] },
      ],
      'spec.quiz.pass_mark': '2',
    }),
    {
      kind: 'quiz',
      questions: [
        { text: 'Thread?', options: ['1/2"', '3/4"'], correct: [0] },
        { text: 'Products?', options: ['Mixers', 'Drills', 'Siphons'], correct: [0, 2] },
      ],
      pass_mark: 2,
    },
  );
  assert.deepEqual(
    spec('survey', {
      'spec.survey.questions': [
        { text: 'Which sells best?', options: ['Mixers', 'Siphons'], multiple: true },
        { text: 'What do buyers ask for?', options: [], multiple: true },
      ],
    }),
    {
      kind: 'survey',
      questions: [
        { text: 'Which sells best?', options: ['Mixers', 'Siphons'], multiple: true },
        // A written answer cannot allow several.
        { text: 'What do buyers ask for?', options: [], multiple: false },
      ],
    },
  );
  assert.deepEqual(
    spec('sales_plan', {
      'spec.sales_plan.target_quantity': '10',
      'spec.sales_plan.target_amount': '1 500,5',
      recurrence: 'weekly',
    }),
    { kind: 'sales_plan', target_quantity: 10, target_amount: '1500.50' },
  );
  assert.deepEqual(
    spec('training', { 'spec.training.course': 'Mixers 101', 'spec.training.url': 'https://learn.example/m' }),
    {
      kind: 'training',
      course: 'Mixers 101',
      url: 'https://learn.example/m',
    },
  );
});

test('moderation is sent only where the author may choose', () => {
  const moderation = (kind, ticked) =>
    taskBody(typed(kind, { requires_moderation: ticked, ...FILL[kind] })).body.requires_moderation;
  assert.equal(moderation('price_report', true), true);
  assert.equal(moderation('survey', false), false);
  assert.equal(moderation('training', true), true);
  assert.equal(moderation('shelf_photo', false), null); // always moderated
  assert.equal(moderation('quiz', true), null); // never moderated
});

/** The least each kind needs to be valid. */
const FILL = {
  shelf_photo: {},
  self_audit: { 'spec.self_audit.checklist': 'Clean shelf' },
  price_report: { 'spec.price_report.products': 'Rival mixer' },
  stock_check: {},
  quiz: { 'spec.quiz.questions': [{ text: 'Q', options: ['a', 'b'], correct: [1] }], 'spec.quiz.pass_mark': '1' },
  survey: { 'spec.survey.questions': [{ text: 'Q', options: [] }] },
  sales_plan: { 'spec.sales_plan.target_quantity': '5', recurrence: 'daily' },
  training: { 'spec.training.course': 'Course' },
};

test('every kind is valid with what it needs', () => {
  for (const kind of KINDS) assert.deepEqual(taskBody(typed(kind, FILL[kind])).errors, [], kind);
});

test('the editor catches what the server would refuse, under its fields', () => {
  assert.deepEqual(fields(taskBody(typed('stock_check', { points: '0' }))), ['points']);
  assert.deepEqual(fields(taskBody(typed('stock_check', { points: '1.234' }))), ['points']);
  assert.deepEqual(fields(taskBody(typed('stock_check', { title: '  ' }))), ['title']);
  assert.deepEqual(fields(taskBody(typed('stock_check', { max_completions: '0', max_attempts: '101' }))), [
    'max_completions',
    'max_attempts',
  ]);
  assert.deepEqual(fields(taskBody(typed('stock_check', { 'audience.stores': '3, five' }))), ['audience.stores']);
  assert.deepEqual(
    fields(taskBody(typed('stock_check', { starts_at: '2026-03-02T10:00', ends_at: '2026-03-01T10:00' }))),
    ['ends_at'],
  );
  assert.deepEqual(fields(taskBody(typed('shelf_photo', { 'spec.shelf_photo.min_photos': '11' }))), [
    'spec.shelf_photo.min_photos',
  ]);
  assert.deepEqual(fields(taskBody(typed('self_audit'))), ['spec.self_audit.checklist']);
  assert.deepEqual(fields(taskBody(typed('price_report'))), ['spec.price_report.products']);
  assert.deepEqual(
    fields(taskBody(typed('training', { 'spec.training.course': 'C', 'spec.training.url': 'ftp://x' }))),
    ['spec.training.url'],
  );
  assert.deepEqual(fields(taskBody(typed('training'))), ['spec.training.course']);
  // A sales plan needs a target, and without a repeat a start to count sales from.
  assert.deepEqual(fields(taskBody(typed('sales_plan'))), ['spec.sales_plan.target_quantity', 'starts_at']);
  assert.deepEqual(
    fields(taskBody(typed('sales_plan', { 'spec.sales_plan.target_amount': '0', recurrence: 'daily' }))),
    ['spec.sales_plan.target_amount'],
  );
  // A quiz: each question needs its text, two options and a right one; the pass mark fits.
  const quiz = taskBody(
    typed('quiz', {
      'spec.quiz.questions': [
        { text: '', options: ['a', 'b'], correct: [0] },
        { text: 'Q2', options: ['a'], correct: [] },
      ],
      'spec.quiz.pass_mark': '3',
    }),
  );
  assert.deepEqual(fields(quiz), [
    'spec.quiz.questions',
    'spec.quiz.questions',
    'spec.quiz.questions',
    'spec.quiz.pass_mark',
  ]);
  assert.deepEqual(
    quiz.errors.map((e) => e.message),
    [
      'Question 1: write the question',
      'Question 2: 2 to 10 options',
      'Question 2: tick the right option',
      'A whole number from 1 to 2',
    ],
  );
  assert.equal(quiz.body, null);
  assert.deepEqual(fields(taskBody(typed('survey', { 'spec.survey.questions': [] }))), ['spec.survey.questions']);
  // Only the chosen kind's fields are read: a quiz's empty questions do not hold up a stock check.
  assert.deepEqual(taskBody(typed('stock_check', { 'spec.quiz.questions': [] })).errors, []);
});

test('a stored task fills the editor and comes back the same', () => {
  const task = {
    id: 4,
    kind: 'quiz',
    title: 'Quiz: AquaLine mixers',
    description: 'Three questions',
    spec: {
      kind: 'quiz',
      pass_mark: 2,
      questions: [
        { text: 'Thread?', options: ['1/2"', '3/4"', '1"'], correct: [0] },
        { text: 'Products?', options: ['Mixers', 'Drills', 'Siphons'], correct: [0, 2] },
      ],
    },
    audience: { regions: [2], stores: [8, 9], levels: [1], roles: ['owner'] },
    starts_at: new Date(2026, 2, 1, 9, 0).getTime(),
    ends_at: null,
    recurrence: 'daily',
    points: '20.00',
    max_completions: 1,
    max_attempts: 3,
    requires_moderation: false,
    active: false,
    brand_id: 5,
  };
  const values = taskValues(task);
  assert.equal(values.kind, 'quiz');
  assert.equal(values.starts_at, '2026-03-01T09:00');
  assert.equal(values['audience.stores'], '8, 9');
  assert.equal(values.max_attempts, '3');
  assert.equal(values.brand_id, '5');
  // Other kinds start from their defaults, should the kind be changed.
  assert.equal(values['spec.shelf_photo.min_photos'], '1');
  const { body, errors } = taskBody(values);
  assert.deepEqual(errors, []);
  for (const key of [
    'title',
    'description',
    'spec',
    'audience',
    'starts_at',
    'ends_at',
    'recurrence',
    'points',
    'max_completions',
    'max_attempts',
    'active',
    'brand_id',
  ])
    assert.deepEqual(body[key], task[key], key);
  // A new task: a brand's own staff make their brand's; everyone else the program's.
  assert.equal(taskValues(null, { brandId: 3 }).brand_id, '3');
  assert.equal(taskValues(null).brand_id, '');
  assert.equal(taskValues(null).active, true);
  assert.equal(taskValues(null).requires_moderation, true); // a shelf photo, the first kind
});

test('the server’s field errors land under the editor’s fields', () => {
  assert.deepEqual(
    taskFieldErrors(
      [
        { field: 'spec.questions[0].options[1]', message: 'must not be empty' },
        { field: 'spec.questions[1].correct', message: 'name at least one right option' },
        { field: 'spec.pass_mark', message: 'right answers needed to pass: 1 to the number of questions' },
        { field: 'audience.stores', message: 'there is no store 999 in this program' },
        { field: 'audience.roles[0]', message: 'a role name' },
        { field: 'points', message: 'must be positive' },
      ],
      'quiz',
    ),
    [
      {
        field: 'spec.quiz.questions',
        message: 'Question 1, option 2: must not be empty; Question 2: name at least one right option',
      },
      { field: 'spec.quiz.pass_mark', message: 'right answers needed to pass: 1 to the number of questions' },
      { field: 'audience.stores', message: 'there is no store 999 in this program' },
      { field: 'audience.roles', message: 'a role name' },
      { field: 'points', message: 'must be positive' },
    ],
  );
  assert.deepEqual(taskFieldErrors([{ field: 'spec.checklist[2]', message: 'at most 500 characters' }], 'self_audit'), [
    { field: 'spec.self_audit.checklist', message: 'Line 3: at most 500 characters' },
  ]);
  // "Give a target" names the whole spec: it goes under the plan's first target.
  assert.deepEqual(
    taskFieldErrors([{ field: 'spec', message: 'give target_quantity, target_amount or both' }], 'sales_plan'),
    [{ field: 'spec.sales_plan.target_quantity', message: 'give target_quantity, target_amount or both' }],
  );
  assert.deepEqual(taskFieldErrors(undefined, 'quiz'), []);
  assert.deepEqual(
    questionMarks([
      { field: 'spec.questions[0].options[1]', message: 'x' },
      { field: 'spec.questions[2].text', message: 'x' },
      { field: 'spec.questions[1].correct', message: 'x' },
      { field: 'points', message: 'x' },
    ]),
    [
      { question: 0, part: 'options', option: 1 },
      { question: 2, part: 'text', option: null },
      { question: 1, part: 'correct', option: null },
    ],
  );
});

test('a schedule, limits, an audience and a spec read in words', () => {
  const format = (ms) => new Date(ms).toISOString().slice(0, 10);
  const at = (d) => Date.parse(`${d}T12:00:00Z`);
  assert.equal(describeSchedule({ recurrence: 'none' }, { format }), 'Once, no dates');
  assert.equal(
    describeSchedule({ recurrence: 'daily', starts_at: at('2026-03-01'), ends_at: at('2026-03-31') }, { format }),
    'Every day, 2026-03-01 – 2026-03-31',
  );
  assert.equal(
    describeSchedule({ recurrence: 'weekly', starts_at: at('2026-03-01') }, { format }),
    'Every week, from 2026-03-01',
  );
  assert.equal(describeWindow(null, at('2026-04-01'), { format }), 'until 2026-04-01');

  assert.equal(
    describeLimits({ max_completions: 1, max_attempts: null, recurrence: 'daily' }),
    '1 completion a day · attempts unlimited',
  );
  assert.equal(
    describeLimits({ max_completions: 2, max_attempts: 3, recurrence: 'none' }),
    '2 completions · 3 attempts',
  );
  assert.equal(
    describeLimits({ max_completions: 1, max_attempts: 1, recurrence: 'weekly' }),
    '1 completion a week · 1 attempt',
  );

  assert.equal(describeAudience({ regions: [], stores: [], levels: [], roles: [] }), 'Everyone');
  assert.equal(describeAudience(undefined), 'Everyone');
  assert.equal(
    describeAudience(
      { regions: [1, 9], stores: [4], levels: [0], roles: ['seller', 'owner'] },
      { regions: new Map([[1, 'North']]), levels: new Map([[0, 'Bronze']]) },
    ),
    'Regions: North, #9 · Stores: #4 · Levels: Bronze · Roles: Seller, Owner',
  );

  assert.equal(
    describeSpec({ kind: 'shelf_photo', min_photos: 1, checklist: ['a', 'b'] }),
    'at least 1 photo · 2 checks',
  );
  assert.equal(describeSpec({ kind: 'self_audit', min_photos: 3, checklist: ['a'] }), 'at least 3 photos · 1 check');
  assert.equal(describeSpec({ kind: 'stock_check', product: 'Mixer' }), 'Look for: Mixer');
  assert.equal(describeSpec({ kind: 'stock_check', product: null }), 'Any product code');
  assert.equal(describeSpec({ kind: 'quiz', pass_mark: 2, questions: [{}, {}, {}] }), '3 questions, 2 right to pass');
  assert.equal(describeSpec({ kind: 'survey', questions: [{}] }), '1 question');
  assert.equal(describeSpec({ kind: 'price_report', products: ['a', 'b'] }), '2 products');
  assert.equal(
    describeSpec({ kind: 'sales_plan', target_quantity: 10, target_amount: '1500.00' }),
    'Sales: 10 · Points from sales: 1\u202f500.00',
  );
  assert.equal(describeSpec({ kind: 'training', course: 'Mixers 101' }), 'Course: Mixers 101');
});

test('a submission’s answers read as lines', () => {
  const quiz = {
    kind: 'quiz',
    questions: [
      { text: 'Thread?', options: ['1/2"', '3/4"'] },
      { text: 'Products?', options: ['Mixers', 'Drills', 'Siphons'] },
    ],
  };
  assert.deepEqual(
    answerLines(
      {
        answers: [
          { question: 'Thread?', chosen: [0], right: true },
          { question: 'Products?', chosen: [0, 1], right: false },
        ],
        score: { correct: 1, total: 2, pass_mark: 2 },
      },
      quiz,
    ),
    ['Thread?: 1/2" ✓', 'Products?: Mixers, Drills ✗', '1 of 2 right'],
  );
  assert.deepEqual(answerLines({ code: 'ABCD1234EFGH', comment: 'second shelf' }, { kind: 'stock_check' }), [
    'Code: ABCD1234EFGH',
    'Note: second shelf',
  ]);
  assert.deepEqual(
    answerLines({
      prices: [
        { product: 'Rival mixer', price: '349.90' },
        { product: 'Rival siphon', price: null },
      ],
    }),
    ['Rival mixer: 349.90', 'Rival siphon: not on the shelf'],
  );
  assert.deepEqual(
    answerLines({
      checklist: [
        { item: 'Eye level', done: true },
        { item: 'Tags', done: false },
      ],
    }),
    ['✓ Eye level', '✗ Tags'],
  );
  assert.deepEqual(answerLines({ answers: [{ question: 'Ask?', text: 'Longer hoses' }] }, { kind: 'survey' }), [
    'Ask?: Longer hoses',
  ]);
  assert.deepEqual(answerLines({ progress: { quantity: 12, amount: '240.00' } }), [
    'Sales: 12, points from sales: 240.00',
  ]);
  assert.deepEqual(answerLines({ course: 'Mixers 101', completed: true }), ['Course finished: Mixers 101']);
  assert.deepEqual(answerLines({ odd: { a: 1 } }), ['odd: {"a":1}']);
  assert.deepEqual(answerLines(null), []);
});

test('a quest becomes the body createQuest and updateQuest take', () => {
  const values = { ...questValues(null), title: ' Shelf week ', task_ids: [3, 1], bonus: '100' };
  assert.deepEqual(questBody(values), {
    body: {
      title: 'Shelf week',
      description: '',
      kind: 'chain',
      task_ids: [3, 1],
      bonus: '100.00',
      audience: { regions: [], stores: [], levels: [], roles: [] },
      starts_at: null,
      ends_at: null,
      recurrence: 'none',
      streak_length: null,
      streak_unit: null,
      active: true,
    },
    errors: [],
  });
  // An update keeps the kind.
  assert.ok(!('kind' in questBody(values, { editing: true }).body));
  // A streak has its length and unit, and no recurrence of its own.
  const streak = questBody({
    ...values,
    kind: 'streak',
    streak_length: '7',
    streak_unit: 'week',
    recurrence: 'daily',
  }).body;
  assert.equal(streak.recurrence, 'none');
  assert.equal(streak.streak_length, 7);
  assert.equal(streak.streak_unit, 'week');
  const errorFields = (v) => questBody({ ...values, ...v }).errors.map((e) => e.field);
  assert.deepEqual(errorFields({ task_ids: [] }), ['task_ids']);
  assert.deepEqual(errorFields({ task_ids: [2, 2] }), ['task_ids']);
  assert.deepEqual(errorFields({ task_ids: Array.from({ length: 21 }, (_, i) => i + 1) }), ['task_ids']);
  assert.deepEqual(errorFields({ bonus: '-5' }), ['bonus']);
  assert.deepEqual(errorFields({ kind: 'streak', streak_length: '1' }), ['streak_length']);
  assert.deepEqual(errorFields({ kind: 'streak', streak_length: '367' }), ['streak_length']);
  assert.deepEqual(errorFields({ kind: 'quest' }), ['kind']);
  // A stored quest fills the editor.
  const stored = questValues({
    kind: 'streak',
    title: 'Daily',
    task_ids: [4],
    bonus: '50.00',
    streak_length: 5,
    streak_unit: 'day',
    active: false,
  });
  assert.equal(stored.streak_length, '5');
  assert.equal(stored.active, false);
  assert.deepEqual(stored.task_ids, [4]);
});

test('a quest reads in words', () => {
  assert.equal(describeQuest({ kind: 'chain', task_ids: [1, 2, 3] }), '3 tasks in order');
  assert.equal(describeQuest({ kind: 'set', task_ids: [1] }), '1 task in any order');
  assert.equal(
    describeQuest({ kind: 'streak', task_ids: [1, 2], streak_length: 5, streak_unit: 'day' }),
    '5 days in a row, any of its tasks (2 tasks)',
  );
  assert.equal(
    describeQuest({ kind: 'streak', task_ids: [1], streak_length: 2, streak_unit: 'week' }),
    '2 weeks in a row, any of its tasks (1 task)',
  );
  const format = (ms) => new Date(ms).toISOString().slice(0, 10);
  assert.equal(describeQuestSchedule({ kind: 'chain', recurrence: 'weekly' }, { format }), 'Every week, no dates');
  assert.equal(
    describeQuestSchedule(
      { kind: 'streak', recurrence: 'none', starts_at: Date.parse('2026-05-01T00:00:00Z') },
      { format },
    ),
    'from 2026-05-01',
  );
});

test('the trust settings are checked and read in words', () => {
  const form = (v) => ({ ...trustValues(null), ...v });
  assert.deepEqual(trustValues(null), {
    enabled: false,
    threshold: '90',
    min_decisions: '20',
    max_points: '50.00',
    spot_check_percent: '10',
  });
  assert.deepEqual(checkTrustForm(form({ enabled: true })), {
    policy: { enabled: true, threshold: 90, min_decisions: 20, max_points: '50.00', spot_check_percent: 10 },
    errors: [],
  });
  // Zero is a valid limit: nothing is low-risk enough.
  assert.equal(checkTrustForm(form({ max_points: '0' })).policy.max_points, '0.00');
  const bad = checkTrustForm(
    form({ threshold: '101', min_decisions: '-1', max_points: '1.234', spot_check_percent: '' }),
  );
  assert.deepEqual(
    bad.errors.map((e) => e.field),
    ['threshold', 'min_decisions', 'max_points', 'spot_check_percent'],
  );
  assert.equal(bad.policy, null);
  assert.equal(describeTrust({ enabled: false }), 'Off: a moderator checks every submission that needs one.');
  assert.equal(
    describeTrust({ enabled: true, threshold: 90, min_decisions: 20, max_points: '50.00', spot_check_percent: 10 }),
    'On: a submission of a task paying at most 50.00 base points, from a seller with at least 20 moderator decisions and a trust score of at least 90 %, is approved at once; 10 % of them still go to a moderator.',
  );
});

test('small parsers: lines, store ids, local date and time', () => {
  assert.deepEqual(lines(' a \n\n b\r\n'), ['a', 'b']);
  assert.deepEqual(idList('3, 5;7  3'), [3, 5, 7]);
  assert.deepEqual(idList(''), []);
  assert.equal(idList('3, x'), null);
  assert.equal(idList('0'), null);
  const ms = new Date(2026, 0, 2, 3, 4).getTime();
  assert.equal(toLocalInput(ms), '2026-01-02T03:04');
  assert.equal(fromLocalInput('2026-01-02T03:04'), ms);
  assert.equal(toLocalInput(null), '');
  assert.equal(fromLocalInput(''), null);
  assert.equal(fromLocalInput('soon'), null);
});
