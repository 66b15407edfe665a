# 命令行和文字模式自助机的文字。

checkout-ok = 已借出：{ $title }。请在 { $due } 之前归还。
checkin-ok = 已归还：{ $title }。
checkin-fine = 此资料逾期 { $days } 天，已在您的账户中记入罚款 { $fine } 元。
route-hold-shelf = 请把此资料放到预约架上（取书码 { $code }）。
route-sort-bin = 请把此资料放入 { $bin } 号分拣箱。
route-staff = 请把此资料交给工作人员。
renew-ok = 已续借：{ $title }。新的应还日期 { $due }。
hold-ok = 已预约：{ $title }。到书后会通知您取书。
hold-cancelled = 已取消您对《{ $title }》的预约。
feedback-thanks = 感谢您的反馈！
kiosk-welcome = 欢迎来到{ $library }。借书请先扫描读者证，还书请直接扫描图书。
kiosk-session-open = { $name }，您好。请扫描要借的图书；再次扫描读者证或输入 "done" 结束。
kiosk-enter-pin = 请输入密码并按回车键。
kiosk-session-closed = 再见！您当前共借 { $count } 册。
kiosk-scan-card-first = 您扫描的是图书，不是读者证。借书请先扫描读者证。
kiosk-gui-pending = 未找到显示器（未设置 DISPLAY 或 WAYLAND_DISPLAY），现以文字模式运行自助机。
kiosk-pad-help = 演示用 RFID 感应区：输入 "pad" 列出演示标签，"put 1" 或 "put 1,2,3" 把标签放上感应区，"take 1" 或 "take all" 取下。
kiosk-no-demo-pad = 当前配置中没有模拟 RFID 感应区。
tag-unreadable = 无法读取此资料的标签，请交给工作人员。
tag-security-failed = 此资料的防盗标签未能设置，离馆前请交给工作人员处理。
receipt-due = 应还 { $due }
receipt-footer = 谢谢！请按时归还。
receipt-failed = 凭条未能打印。您的借阅已记录，如需凭条请联系工作人员。
circ-accepted = 已办理。
