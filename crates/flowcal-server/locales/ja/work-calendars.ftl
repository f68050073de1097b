# work-calendars
