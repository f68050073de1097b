# tasks
