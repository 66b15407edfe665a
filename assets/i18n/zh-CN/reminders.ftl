# kiosk-central 发给读者的提醒邮件（src/central/remind.rs）。
# $name 读者姓名，$title 书名，$due 应还日期，$pickup_by 取书截止日，$code 取书码。
remind-greeting = { $name }，您好：
remind-due-soon-subject = 即将到期：《{ $title }》
remind-due-soon-body = 您借阅的《{ $title }》将于 { $due } 到期。您可以在自助借还机上续借。
remind-overdue-subject = 已逾期：《{ $title }》
remind-overdue-body = 您借阅的《{ $title }》已于 { $due } 到期，请尽快归还或续借。
remind-hold-ready-subject = 预约到馆：《{ $title }》
remind-hold-ready-body = 您预约的《{ $title }》已到馆，请于 { $pickup_by } 前到预约架取书，取书码 { $code }。
remind-signature = 图书馆
