# 拒绝原因：用读者听得懂的话说明原因和下一步该怎么做。
# 键名为 refusal- 加上稳定的拒绝代码（下划线改为连字符）。

refusal-unknown-patron = 无法识别此读者证，请到服务台咨询工作人员。
refusal-card-expired = 您的读者证已于 { $expired } 过期，请到服务台办理续期。
refusal-patron-blocked = 您的读者证已被暂停使用（{ $reason }），请到服务台咨询。
refusal-fines-over-limit = 您有 { $owed } 元欠款，超过 { $limit } 元将暂停借阅，请到服务台缴费。
refusal-too-many-overdue = 您有 { $overdue } 本逾期未还（逾期达 { $limit } 本即暂停借阅），请先归还后再借。
refusal-max-loans-reached = 您已借 { $max } 册，已达上限，请先归还再借。
refusal-unknown-item = 系统中找不到这件资料，请交给工作人员。
refusal-item-not-for-loan = 此资料仅限馆内阅览，不可外借。
refusal-item-needs-staff = 此资料状态为“{ $status }”，请交给工作人员处理。
refusal-item-on-hold-for-another = 此资料已被其他读者预约，请交给工作人员。
refusal-already-on-loan-to-you = 这本书您已借出，应还日期 { $due }，可以办理续借。
refusal-item-on-loan-to-another = 系统显示此资料借给了其他读者，请交给工作人员。
refusal-incomplete-set = 这套资料共 { $parts } 件，只识别到 { $seen } 件，请把全部配件放到感应区。
refusal-not-on-loan-to-you = 此资料不在您的借阅记录中，无法续借。
refusal-max-renewals-reached = 此资料已续借 { $max } 次，达到上限，请按时归还。
refusal-renewal-blocked-by-hold = 有其他读者在等这本书，无法续借，请在应还日期前归还。
refusal-too-soon-to-renew = 此资料应还日期为 { $due }，现在续借不会延长借期。
refusal-item-available = 此资料目前在架，可以直接借阅。
refusal-hold-already-placed = 您已经预约过这本书。
refusal-max-holds-reached = 您已有 { $max } 个预约，已达上限。
refusal-hold-not-found = 您没有预约这本书。
refusal-pin-required = 请输入密码。
refusal-wrong-pin = 密码错误，您还可以再试 { $attempts } 次。
refusal-pin-locked = 密码错误次数过多，此卡在本机已锁定至 { $until }，请咨询工作人员。
refusal-pin-unavailable = 暂时无法核对您的密码（无法连接图书馆系统），本机现在不能办理。请稍后再试或咨询工作人员。
refusal-invalid-barcode = 条码无法正确识别（{ $detail }），请重新扫描或咨询工作人员。
refusal-offline-unavailable = 暂时无法连接图书馆系统，此操作无法办理，请稍后再试或咨询工作人员。
refusal-offline-returns-only = 暂时无法连接图书馆系统：可以还书，暂不能借书，请咨询工作人员。
refusal-offline-limit-reached = 离线期间每位读者最多可借 { $max } 册，请咨询工作人员。
refusal-upstream-refused = 图书馆系统回复：{ $message }。如需帮助请咨询工作人员。
