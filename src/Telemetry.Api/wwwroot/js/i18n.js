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
    'alerts.title': 'Alerts',
    'alerts.binTitle': 'Alerts for this bin',
    'alerts.empty': 'No active alerts',
    'alerts.binEmpty': 'No active alerts for this bin.',
    'alerts.count': '{n} active alerts',
    'alerts.badge': 'Alerts: {n}',
    'alerts.badgeLabel': '{n} active alerts, the highest {severity}: show them',
    'alerts.ack': 'Acknowledge',
    'alerts.ackLabel': 'Acknowledge {kind} at {bin}',
    'alerts.raised': 'Raised {time}',
    'alerts.acked': 'Acknowledged by {name}, {time}',
    'alerts.ackedShort': 'Acknowledged',
    'alerts.done': 'Alert acknowledged.',
    'alerts.gone': 'That alert no longer exists; the list has been refreshed.',
    'alerts.alreadyCleared': 'That alert has already cleared; the list has been refreshed.',
    'alerts.forbidden': 'Your role may not acknowledge alerts.',
    'alerts.failed': 'Could not acknowledge the alert: {error}',
    'alerts.lost': 'Alert updates lost; reconnecting…',
    'severity.critical': 'Critical', 'severity.warning': 'Warning', 'severity.info': 'Info',
    'kind.fill': 'Collection threshold reached', 'kind.overflow': 'Overflowing', 'kind.predicted-full': 'Predicted full soon',
    'kind.fire': 'Fire risk (high temperature)', 'kind.tilt': 'Tilted', 'kind.door-open': 'Door left open',
    'kind.low-battery': 'Low battery', 'kind.offline': 'Offline', 'kind.stuck-sensor': 'Fill sensor stuck',
    'map.alerts': 'Active alerts',
    'map.alert': '{severity} alert',
    'map.alertsOf': '{n} alerts, the highest {severity}',
    'list.alerts': '{severity} · {n}',
    'jobs.title': 'Collection jobs',
    'jobs.binTitle': 'Collection jobs for this bin',
    'jobs.show': 'Show',
    'jobs.filter.open': 'Open', 'jobs.filter.requested': 'Requested', 'jobs.filter.planned': 'Planned',
    'jobs.filter.completed': 'Completed', 'jobs.filter.cancelled': 'Cancelled', 'jobs.filter.all': 'All',
    'jobs.count': '{n} jobs',
    'jobs.empty': 'No open collection jobs.',
    'jobs.none': 'No collection jobs in this state.',
    'jobs.binEmpty': 'No open collection job for this bin.',
    'jobs.col.bin': 'Bin', 'jobs.col.compartments': 'Compartments', 'jobs.col.stream': 'Stream', 'jobs.col.reason': 'Reason',
    'jobs.col.priority': 'Priority', 'jobs.col.deadline': 'Deadline', 'jobs.col.state': 'State', 'jobs.col.vehicle': 'Vehicle',
    'jobs.col.actions': 'Actions',
    'reason.threshold': 'Threshold reached', 'reason.predicted': 'Predicted full', 'reason.overflow': 'Overflow', 'reason.manual': 'Requested by hand', 'reason.dwell': 'Daily collection',
    'priority.normal': 'Normal', 'priority.urgent': 'Urgent',
    'job.requested': 'Requested', 'job.planned': 'Planned', 'job.completed': 'Completed', 'job.cancelled': 'Cancelled',
    'jobs.overdue': 'overdue',
    'jobs.requestedBy': 'Requested {time} by {name}',
    'jobs.complete': 'Complete', 'jobs.cancel': 'Cancel',
    'jobs.completeLabel': 'Mark the job for {bin} completed', 'jobs.cancelLabel': 'Cancel the job for {bin}',
    'jobs.completed': 'Job marked completed.', 'jobs.cancelledDone': 'Job cancelled.',
    'jobs.gone': 'That job no longer exists; the list has been refreshed.',
    'jobs.notOpen': 'That job is no longer open; the list has been refreshed.',
    'jobs.forbidden': 'Your role may not change collection jobs.',
    'jobs.failed': 'The action failed: {error}',
    'jobs.refreshFailed': 'Could not refresh the jobs: {error}',
    'jobs.request': 'Request collection',
    'jobs.pick': 'Compartments to collect',
    'jobs.covered': 'open job',
    'jobs.pickOne': 'Choose at least one compartment.',
    'jobs.requestedDone': 'Collection requested.',
    'jobs.conflict': 'This bin already has an open job for a chosen compartment.',
    'map.route': 'Planned route (stream colour), numbered stops with ETA',
    'map.truck': 'Truck, at its latest position',
    'routes.title': 'Routes',
    'routes.onMap': 'Show on the map',
    'routes.count': '{n} routes',
    'routes.empty': 'No routes planned.',
    'routes.refreshFailed': 'Could not refresh the routes: {error}',
    'routes.shift': '{day}, {from}–{to}',
    'routes.figures': '{stops} stops · {km} km · {trips} trips to the facility',
    'routes.show': 'Show on map',
    'routes.sheet': 'Route sheet',
    'routes.stops': 'Stops ({n} bins)',
    'routes.unserved': 'Not served ({n})',
    'routes.waiting': 'Shifts not driven ({n})',
    'routes.waitingWhy': 'jobs waiting: {jobs}, for the shift of {next}; {hours} h at 100 % expected in all, a truck goes out at {limit} h',
    'routes.truck': '{id} ({stream}) · {speed} km/h · {time}',
    'routes.stopTip': '{vehicle} stop {seq}: {name} · ETA {eta}',
    'unserved.capacity': 'not enough truck capacity', 'unserved.time': 'does not fit in the shift', 'unserved.shift': 'does not fit in the shift',
    'unserved.no-vehicle': 'no vehicle for this stream', 'unserved.unreachable': 'cannot be reached', 'unserved.unknown-bin': 'bin not in the registry',
    'unserved.dropped': 'left out by the planner',
    'stop.depot': 'Depot', 'stop.bin': 'Bin', 'stop.facility': 'Unload',
    'sheet.back': '← Fleet',
    'sheet.print': 'Print',
    'sheet.title': 'Route sheet: {vehicle}',
    'sheet.vehicle': 'Vehicle', 'sheet.stream': 'Stream', 'sheet.shift': 'Shift', 'sheet.depot': 'Depot', 'sheet.summary': 'Route',
    'sheet.planned': 'Planned', 'sheet.plannedAt': '{time} (revision {revision})',
    'sheet.col.seq': 'No.', 'sheet.col.eta': 'Arrive', 'sheet.col.departs': 'Leave', 'sheet.col.stop': 'Stop', 'sheet.col.address': 'Address',
    'sheet.col.compartments': 'Compartments', 'sheet.col.kg': 'Collect kg', 'sheet.col.load': 'Load after kg', 'sheet.col.done': 'Done',
    'sheet.foot': 'Times are local time ({zone}). Collect kg: expected; negative at the facility (unloaded).',
    'sheet.missing': 'This route of {vehicle} is no longer planned (a newer plan replaced it, or its shift is over).',
    'sheet.other': 'The current route: {shift}',
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
    'alerts.title': '告警',
    'alerts.binTitle': '本箱告警',
    'alerts.empty': '暂无未解除的告警',
    'alerts.binEmpty': '本箱暂无未解除的告警。',
    'alerts.count': '{n} 条未解除告警',
    'alerts.badge': '告警：{n}',
    'alerts.badgeLabel': '{n} 条未解除告警，最高级别：{severity}；点击查看',
    'alerts.ack': '确认',
    'alerts.ackLabel': '确认 {bin} 的告警：{kind}',
    'alerts.raised': '触发于 {time}',
    'alerts.acked': '{name} 已于 {time} 确认',
    'alerts.ackedShort': '已确认',
    'alerts.done': '告警已确认。',
    'alerts.gone': '该告警已不存在，列表已刷新。',
    'alerts.alreadyCleared': '该告警已解除，列表已刷新。',
    'alerts.forbidden': '当前角色无权确认告警。',
    'alerts.failed': '告警确认失败：{error}',
    'alerts.lost': '告警推送中断，正在重连…',
    'severity.critical': '严重', 'severity.warning': '警告', 'severity.info': '提示',
    'kind.fill': '达到清运阈值', 'kind.overflow': '满溢', 'kind.predicted-full': '预计即将装满',
    'kind.fire': '火情风险（高温）', 'kind.tilt': '箱体倾斜', 'kind.door-open': '箱门未关',
    'kind.low-battery': '电量低', 'kind.offline': '离线', 'kind.stuck-sensor': '满溢传感器卡滞',
    'map.alerts': '未解除告警',
    'map.alert': '{severity}告警',
    'map.alertsOf': '{n} 条告警，最高级别：{severity}',
    'list.alerts': '{severity} · {n}',
    'jobs.title': '收运任务',
    'jobs.binTitle': '本箱收运任务',
    'jobs.show': '显示',
    'jobs.filter.open': '未完成', 'jobs.filter.requested': '待排班', 'jobs.filter.planned': '已排班',
    'jobs.filter.completed': '已完成', 'jobs.filter.cancelled': '已取消', 'jobs.filter.all': '全部',
    'jobs.count': '共 {n} 个任务',
    'jobs.empty': '暂无未完成的收运任务。',
    'jobs.none': '没有该状态的收运任务。',
    'jobs.binEmpty': '本箱暂无未完成的收运任务。',
    'jobs.col.bin': '分类箱', 'jobs.col.compartments': '分类仓', 'jobs.col.stream': '类别', 'jobs.col.reason': '原因',
    'jobs.col.priority': '优先级', 'jobs.col.deadline': '截止时间', 'jobs.col.state': '状态', 'jobs.col.vehicle': '车辆',
    'jobs.col.actions': '操作',
    'reason.threshold': '达到清运阈值', 'reason.predicted': '预计装满', 'reason.overflow': '满溢', 'reason.manual': '人工申请', 'reason.dwell': '每日清运',
    'priority.normal': '普通', 'priority.urgent': '紧急',
    'job.requested': '待排班', 'job.planned': '已排班', 'job.completed': '已完成', 'job.cancelled': '已取消',
    'jobs.overdue': '已超时',
    'jobs.requestedBy': '{name} 于 {time} 申请',
    'jobs.complete': '完成', 'jobs.cancel': '取消任务',
    'jobs.completeLabel': '将 {bin} 的收运任务标记为已完成', 'jobs.cancelLabel': '取消 {bin} 的收运任务',
    'jobs.completed': '任务已标记为完成。', 'jobs.cancelledDone': '任务已取消。',
    'jobs.gone': '该任务已不存在，列表已刷新。',
    'jobs.notOpen': '该任务已结束，列表已刷新。',
    'jobs.forbidden': '当前角色无权操作收运任务。',
    'jobs.failed': '操作失败：{error}',
    'jobs.refreshFailed': '收运任务刷新失败：{error}',
    'jobs.request': '申请收运',
    'jobs.pick': '需要收运的分类仓',
    'jobs.covered': '已有任务',
    'jobs.pickOne': '请至少选择一个分类仓。',
    'jobs.requestedDone': '已申请收运。',
    'jobs.conflict': '所选分类仓已有未完成的收运任务。',
    'map.route': '规划路线（按类别着色），编号站点及预计到达时间',
    'map.truck': '收运车辆（最新位置）',
    'routes.title': '收运路线',
    'routes.onMap': '在地图上显示',
    'routes.count': '共 {n} 条路线',
    'routes.empty': '暂无规划路线。',
    'routes.refreshFailed': '路线刷新失败：{error}',
    'routes.shift': '{day} {from}–{to}',
    'routes.figures': '{stops} 个站点 · {km} 公里 · 卸运 {trips} 趟',
    'routes.show': '在地图上查看',
    'routes.sheet': '路线单',
    'routes.stops': '站点（{n} 个分类箱）',
    'routes.unserved': '未安排（{n}）',
    'routes.waiting': '未出车班次（{n}）',
    'routes.waitingWhy': '{jobs} 个收运任务留待 {next} 的班次：预计累计满箱 {hours} 小时，低于出车阈值 {limit} 小时',
    'routes.truck': '{id}（{stream}）· {speed} 公里/小时 · {time}',
    'routes.stopTip': '{vehicle} 第 {seq} 站：{name} · 预计 {eta} 到达',
    'unserved.capacity': '车辆运力不足', 'unserved.time': '班次内无法完成', 'unserved.shift': '班次内无法完成',
    'unserved.no-vehicle': '该类别无可用车辆', 'unserved.unreachable': '无法到达', 'unserved.unknown-bin': '登记表中无此分类箱',
    'unserved.dropped': '规划未纳入',
    'stop.depot': '停车场', 'stop.bin': '分类箱', 'stop.facility': '卸车',
    'sheet.back': '← 设备总览',
    'sheet.print': '打印',
    'sheet.title': '收运路线单：{vehicle}',
    'sheet.vehicle': '车辆', 'sheet.stream': '类别', 'sheet.shift': '班次', 'sheet.depot': '停车场', 'sheet.summary': '路线',
    'sheet.planned': '规划时间', 'sheet.plannedAt': '{time}（第 {revision} 版）',
    'sheet.col.seq': '序号', 'sheet.col.eta': '到达', 'sheet.col.departs': '离开', 'sheet.col.stop': '站点', 'sheet.col.address': '地址',
    'sheet.col.compartments': '分类仓', 'sheet.col.kg': '收运 kg', 'sheet.col.load': '车上 kg', 'sheet.col.done': '完成',
    'sheet.foot': '时间均为当地时间（{zone}）。收运 kg 为预计值；在处理设施处为负数（卸车）。',
    'sheet.missing': '{vehicle} 的这条路线已不再有效（已被新的规划替换，或班次已结束）。',
    'sheet.other': '当前路线：{shift}',
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

/** An instant as the time of day (HH:mm) in the registry's zone. */
export function time(value) {
  if (value === null || value === undefined) return t('none');
  return new Intl.DateTimeFormat(locale(), { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(value));
}

/** An instant's local day in the registry's zone, with the weekday (for a shift). */
export function day(value) {
  if (value === null || value === undefined) return t('none');
  return new Intl.DateTimeFormat(locale(), { timeZone: zone, weekday: 'short', month: 'short', day: 'numeric' }).format(new Date(value));
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

/** A term of a closed set (an alert's kind or severity, a job's reason, priority or state): translated when known, else the id. */
export function term(prefix, id) {
  if (id === null || id === undefined || id === '') return t('none');
  const key = `${prefix}.${id}`;
  return key in texts[current] || key in texts.en ? t(key) : String(id);
}
