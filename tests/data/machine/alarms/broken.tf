resource "aws_cloudwatch_metric_alarm" "half" {
  alarm_name = "half-written"
  threshold  = 
