// Every text the dashboard shows, in English and Simplified Chinese; dates and numbers through Intl in the
// registry's time zone. The browser's language chooses; the switch in the header changes it and is remembered.

const texts = {
  en: {
    'app.title': 'Telemetry',
    'app.subtitle': '{district} smart recycling bins',
    'nav.map': 'Fleet',
    'nav.analytics': 'Diversion',
    'nav.signout': 'Sign out',
    'nav.language': 'Language',
    'live.connected': 'Live',
    'live.connecting': 'Connecting…',
    'live.lost': 'Live updates lost; reconnecting…',
    'signin.title': 'Sign in',
    'signin.intro': 'Enter your API key. It stays in an HTTP-only cookie of this browser for 12 hours.',
    'signin.key': 'API key',
    'signin.submit': 'Sign in',
    'signin.refused': 'The key was refused: check it and try again.',
    'signin.limited': 'Too many failed attempts from this address: wait a minute and try again.',
    'signin.failed': 'Sign-in failed: {error}',
    'signin.as': 'Signed in as {name} ({role})',
    'role.analyst': 'analyst', 'role.dispatcher': 'dispatcher', 'role.admin': 'admin',
    'state.loading': 'Loading…',
    'state.error': 'Could not load: {error}',
    'state.retry': 'Retry',
    'state.empty': 'Nothing to show.',
    'state.noBins': 'No bin matches the filters.',
    'state.noData': 'No readings in this period.',
    'state.noDeposits': 'No deposits in this period.',
    'map.title': 'Map',
    'map.legend': 'Fullest compartment',
    'map.level.none': 'no reading',
    'map.level.low': 'below {pct} %',
    'map.level.mid': '{from}–{to} %',
    'map.level.high': 'collection threshold {from} % and above',
    'map.level.full': 'overflow {pct} % and above',
    'map.mark.offline': 'offline',
    'map.mark.battery': 'battery at or below {pct} %',
    'map.mark.tilt': 'tilted',
    'map.facility': 'Facility',
    'map.open': 'Open bin page',
    'map.zoomIn': 'Zoom in', 'map.zoomOut': 'Zoom out',
    'list.title': 'Bins',
    'list.community': 'Community',
    'list.stream': 'Stream',
    'list.all': 'All',
    'list.sort': 'Sort',
    'list.sort.fillDesc': 'Fullest first',
    'list.sort.fillAsc': 'Emptiest first',
    'list.sort.id': 'By id',
    'list.count': '{shown} of {total} bins',
    'col.bin': 'Bin', 'col.community': 'Community', 'col.fill': 'Fill', 'col.compartment': 'Fullest', 'col.battery': 'Battery',
    'col.status': 'Status', 'col.lastSeen': 'Last seen',
    'status.online': 'online', 'status.offline': 'offline', 'status.unknown': 'unknown', 'status.tilt': 'tilted', 'status.door': 'door open',
    'stream.recyclable': 'Recyclable', 'stream.kitchen': 'Kitchen waste', 'stream.hazardous': 'Hazardous', 'stream.residual': 'Residual',
    'material.paper': 'Paper', 'material.plastic': 'Plastic', 'material.metal': 'Metal', 'material.glass': 'Glass', 'material.textile': 'Textile',
    'material.kitchen': 'Kitchen waste', 'material.hazardous': 'Hazardous', 'material.residual': 'Residual',
    'facility.depot': 'Depot', 'facility.sorting-centre': 'Sorting centre', 'facility.kitchen-site': 'Kitchen-waste site',
    'facility.hazardous-facility': 'Hazardous-waste facility', 'facility.transfer-station': 'Transfer station',
    'bin.back': '← All bins',
    'bin.notFound': 'No bin {id} in the registry.',
    'bin.health': 'Device',
    'bin.online': 'Connection', 'bin.lastSeen': 'Last seen', 'bin.battery': 'Battery', 'bin.temp': 'Temperature', 'bin.tilt': 'Tilt', 'bin.door': 'Door',
    'bin.tilt.yes': 'tilted', 'bin.tilt.no': 'upright', 'bin.door.yes': 'open', 'bin.door.no': 'closed',
    'bin.compartments': 'Compartments',
    'bin.fill': 'Fill', 'bin.weight': 'Weight', 'bin.predicted': 'Predicted full',
    'bin.history': 'History',
    'bin.period': 'Period',
    'period.24h': 'Last 24 hours', 'period.7d': 'Last 7 days', 'period.30d': 'Last 30 days',
    'chart.fill': 'Fill %', 'chart.weight': 'Weight kg',
    'chart.clean': 'Fill % (cleaned)', 'chart.raw': 'Raw readings', 'chart.forecast': 'Prediction', 'chart.band': '80 % band', 'chart.collection': 'Collection',
    'bin.reaches': 'Reaches {pct}', 'bin.full': 'Full', 'bin.beyond': 'not within 7 days', 'bin.now': 'now', 'bin.band': '{from} – {to}',
    'bin.events': 'Collections and device events', 'events.time': 'Time', 'events.what': 'Event', 'events.detail': 'Detail',
    'events.none': 'No collections or device events in this period.',
    'event.collection': 'Collected', 'event.offline': 'Went offline', 'event.online': 'Back online', 'event.reboot': 'Rebooted',
    'event.collected': '{material}: {kg} collected, {before} full before',
    'analytics.title': 'Diversion',
    'analytics.intro': 'Deposited kg per stream and the diversion rate (recyclable, kitchen and hazardous kg over all kg), in {zone} local days.',
    'analytics.from': 'From', 'analytics.to': 'To (inclusive)', 'analytics.groupBy': 'Group by', 'analytics.community': 'Community', 'analytics.bin': 'Bin',
    'analytics.show': 'Show', 'analytics.csv': 'Download CSV',
    'analytics.badPeriod': 'The end date must not be before the start date, and the period at most 366 days.',
    'group.community': 'Community', 'group.stream': 'Stream', 'group.material': 'Material', 'group.day': 'Day',
    'analytics.group': 'Group', 'analytics.rate': 'Diversion rate', 'analytics.total': 'Total', 'analytics.kg': 'kg',
    'unit.kg': '{n} kg', 'unit.pct': '{n} %', 'unit.c': '{n} °C',
    'none': '—',
  },
  zh: {
    'app.title': '智能回收',
    'app.subtitle': '{district}智能垃圾分类箱',
    'nav.map': '设备总览',
    'nav.analytics': '分类减量',
    'nav.signout': '退出',
    'nav.language': '语言',
    'live.connected': '实时',
    'live.connecting': '正在连接…',
    'live.lost': '实时更新中断，正在重连…',
    'signin.title': '登录',
    'signin.intro': '请输入 API 密钥。密钥保存在本浏览器的仅限 HTTP 的 Cookie 中，有效期 12 小时。',
    'signin.key': 'API 密钥',
    'signin.submit': '登录',
    'signin.refused': '密钥被拒绝，请检查后重试。',
    'signin.limited': '此地址登录失败次数过多，请一分钟后再试。',
    'signin.failed': '登录失败：{error}',
    'signin.as': '当前用户：{name}（{role}）',
    'role.analyst': '分析员', 'role.dispatcher': '调度员', 'role.admin': '管理员',
    'state.loading': '正在加载…',
    'state.error': '加载失败：{error}',
    'state.retry': '重试',
    'state.empty': '暂无内容。',
    'state.noBins': '没有符合筛选条件的分类箱。',
    'state.noData': '此时间段内没有读数。',
    'state.noDeposits': '此时间段内没有投放记录。',
    'map.title': '地图',
    'map.legend': '最满的分类仓',
    'map.level.none': '无读数',
    'map.level.low': '低于 {pct}%',
    'map.level.mid': '{from}–{to}%',
    'map.level.high': '达到清运阈值 {from}% 及以上',
    'map.level.full': '满溢 {pct}% 及以上',
    'map.mark.offline': '离线',
    'map.mark.battery': '电量不高于 {pct}%',
    'map.mark.tilt': '倾斜',
    'map.facility': '设施',
    'map.open': '查看详情',
    'map.zoomIn': '放大', 'map.zoomOut': '缩小',
    'list.title': '分类箱',
    'list.community': '社区',
    'list.stream': '类别',
    'list.all': '全部',
    'list.sort': '排序',
    'list.sort.fillDesc': '最满优先',
    'list.sort.fillAsc': '最空优先',
    'list.sort.id': '按编号',
    'list.count': '显示 {shown} / {total} 个',
    'col.bin': '编号', 'col.community': '社区', 'col.fill': '满溢度', 'col.compartment': '最满分类仓', 'col.battery': '电量',
    'col.status': '状态', 'col.lastSeen': '最后上报',
    'status.online': '在线', 'status.offline': '离线', 'status.unknown': '未知', 'status.tilt': '倾斜', 'status.door': '门未关',
    'stream.recyclable': '可回收物', 'stream.kitchen': '厨余垃圾', 'stream.hazardous': '有害垃圾', 'stream.residual': '其他垃圾',
    'material.paper': '纸类', 'material.plastic': '塑料', 'material.metal': '金属', 'material.glass': '玻璃', 'material.textile': '织物',
    'material.kitchen': '厨余垃圾', 'material.hazardous': '有害垃圾', 'material.residual': '其他垃圾',
    'facility.depot': '车辆停车场', 'facility.sorting-centre': '分拣中心', 'facility.kitchen-site': '厨余处理厂',
    'facility.hazardous-facility': '危废处置中心', 'facility.transfer-station': '转运站',
    'bin.back': '← 全部分类箱',
    'bin.notFound': '登记表中没有分类箱 {id}。',
    'bin.health': '设备',
    'bin.online': '连接', 'bin.lastSeen': '最后上报', 'bin.battery': '电量', 'bin.temp': '温度', 'bin.tilt': '倾斜', 'bin.door': '箱门',
    'bin.tilt.yes': '倾斜', 'bin.tilt.no': '正常', 'bin.door.yes': '打开', 'bin.door.no': '关闭',
    'bin.compartments': '分类仓',
    'bin.fill': '满溢度', 'bin.weight': '重量', 'bin.predicted': '预计满溢',
    'bin.history': '历史',
    'bin.period': '时间段',
    'period.24h': '最近 24 小时', 'period.7d': '最近 7 天', 'period.30d': '最近 30 天',
    'chart.fill': '满溢度 %', 'chart.weight': '重量 kg',
    'chart.clean': '满溢度 %（已清洗）', 'chart.raw': '原始读数', 'chart.forecast': '预测', 'chart.band': '80% 区间', 'chart.collection': '清运',
    'bin.reaches': '达到 {pct}', 'bin.full': '满溢', 'bin.beyond': '7 天内不会', 'bin.now': '现在', 'bin.band': '{from} 至 {to}',
    'bin.events': '清运与设备事件', 'events.time': '时间', 'events.what': '事件', 'events.detail': '详情',
    'events.none': '此时间段内没有清运或设备事件。',
    'event.collection': '清运', 'event.offline': '离线', 'event.online': '恢复在线', 'event.reboot': '重启',
    'event.collected': '{material}：清运 {kg}，清运前满溢度 {before}',
    'analytics.title': '分类减量',
    'analytics.intro': '各类别投放量（kg）与资源化率（可回收物、厨余垃圾和有害垃圾占全部投放量的比例），按 {zone} 当地日期统计。',
    'analytics.from': '开始日期', 'analytics.to': '结束日期（含）', 'analytics.groupBy': '分组', 'analytics.community': '社区', 'analytics.bin': '分类箱',
    'analytics.show': '查询', 'analytics.csv': '下载 CSV',
    'analytics.badPeriod': '结束日期不能早于开始日期，且时间段不超过 366 天。',
    'group.community': '社区', 'group.stream': '类别', 'group.material': '材质', 'group.day': '日期',
    'analytics.group': '分组', 'analytics.rate': '资源化率', 'analytics.total': '合计', 'analytics.kg': '千克',
    'unit.kg': '{n} kg', 'unit.pct': '{n}%', 'unit.c': '{n} °C',
    'none': '—',
  },
};

const storageKey = 'telemetry.lang';
let current = pick();
let zone = 'UTC';

function pick() {
  const saved = localStorage.getItem(storageKey);
  if (saved === 'en' || saved === 'zh') return saved;
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const lower = String(l).toLowerCase();
    if (lower.startsWith('zh')) return 'zh';
    if (lower.startsWith('en')) return 'en';
  }
  return 'en';
}

export function lang() { return current; }

/** The BCP 47 tag Intl formats with. */
export function locale() { return current === 'zh' ? 'zh-CN' : 'en-GB'; }

export function setLang(value) {
  current = value === 'zh' ? 'zh' : 'en';
  localStorage.setItem(storageKey, current);
  document.documentElement.lang = locale();
}

export function setZone(value) { zone = value || 'UTC'; }
export function timeZone() { return zone; }

export function t(key, params) {
  let s = texts[current][key] ?? texts.en[key] ?? key;
  if (params) {
    for (const [k, v] of Object.entries(params)) s = s.replaceAll(`{${k}}`, String(v));
  }
  return s;
}

export function number(n, digits = 1) {
  if (n === null || n === undefined || Number.isNaN(n)) return t('none');
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(n);
}

export function percent(n, digits = 0) {
  return n === null || n === undefined ? t('none') : t('unit.pct', { n: number(n, digits) });
}

export function rate(r) {
  return r === null || r === undefined ? t('none')
    : new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 1 }).format(r);
}

export function kg(n) { return n === null || n === undefined ? t('none') : t('unit.kg', { n: number(n, 1) }); }

/** An instant (ISO string or ms) as date and time in the registry's zone. */
export function dateTime(value) {
  if (value === null || value === undefined) return t('none');
  const d = typeof value === 'number' ? new Date(value) : new Date(value);
  return new Intl.DateTimeFormat(locale(), { timeZone: zone, dateStyle: 'medium', timeStyle: 'short', hourCycle: 'h23' }).format(d);
}

/** An instant as a short day and time in the registry's zone (no year): for predictions. */
export function shortDateTime(value) {
  if (value === null || value === undefined) return t('none');
  return new Intl.DateTimeFormat(locale(), { timeZone: zone, month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(value));
}

/** Short label for chart axes: day and time, or the day only. */
export function axisTime(ms, withTime) {
  const options = withTime
    ? { timeZone: zone, month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }
    : { timeZone: zone, month: 'numeric', day: 'numeric' };
  return new Intl.DateTimeFormat(locale(), options).format(new Date(ms));
}

/** A local date (YYYY-MM-DD) in the registry's zone, e.g. for a date input. */
export function localDate(ms) {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date(ms));
  const get = type => parts.find(p => p.type === type).value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** The UTC instant of local midnight starting the date YYYY-MM-DD in the registry's zone. */
export function localMidnight(date) {
  const [y, m, d] = date.split('-').map(Number);
  const guess = Date.UTC(y, m - 1, d);
  // The zone's offset at the guess, then once more at the corrected instant (a change of offset that day).
  let utc = guess - offset(guess);
  utc = guess - offset(utc);
  return utc;
}

function offset(ms) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
  }).formatToParts(new Date(ms));
  const get = type => Number(parts.find(p => p.type === type).value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** A material's label: the known ones translated, any other shown as its id. */
export function material(id) {
  const key = `material.${id}`;
  return key in texts[current] || key in texts.en ? t(key) : id;
}

/** Name of a community, facility or bin address in the current language (the Chinese one when the registry has it). */
export function named(entity, field = 'name') {
  if (!entity) return '';
  if (current === 'zh' && entity[field + 'Zh']) return entity[field + 'Zh'];
  return entity[field] ?? '';
}
