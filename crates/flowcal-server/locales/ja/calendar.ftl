# calendar
