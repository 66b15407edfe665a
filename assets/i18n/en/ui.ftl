# Texts of the touch-screen kiosk (src/ui).
